//! The bounded guest executor: deadlines, cancellation, panics, many submitters, futures.
//! (Stuck guests, abandonment and the process-wide cap: tests/executor_abandon.rs.)

use std::future::Future;
use std::sync::{mpsc, Arc};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use sandvm::{Context, ContextOptions, Error, Executor, ExecutorConfig, Limits, Runtime};

fn js_executor(timeout_ms: u64) -> Executor<Context> {
    Executor::new(ExecutorConfig::default(), move || {
        let limits = Limits { timeout: Some(Duration::from_millis(timeout_ms)), ..Default::default() };
        Context::new(&Runtime::new(limits)?, ContextOptions::default())
    })
    .unwrap()
}

fn eval(exec: &Executor<Context>, src: &'static str) -> sandvm::Result<sandvm::Result<String>> {
    exec.run(None, move |ctx| ctx.eval(src).map(|c| c.display))
}

#[test]
fn jobs_run_on_the_guest_state_in_order_and_keep_it() {
    let exec = js_executor(1000);
    assert_eq!(eval(&exec, "globalThis.n = 40; n + 1").unwrap().unwrap(), "41");
    assert_eq!(eval(&exec, "n + 2").unwrap().unwrap(), "42");
    // The guest thread has the configured name and stack.
    let name = exec.run(None, |_| std::thread::current().name().map(str::to_string)).unwrap();
    assert_eq!(name.as_deref(), Some("sandvm-guest"));
}

#[test]
fn the_runtime_deadline_ends_ordinary_runs_and_the_executor_goes_on() {
    let exec = js_executor(50);
    let t = Instant::now();
    assert_eq!(eval(&exec, "for (;;) {}").unwrap(), Err(Error::Timeout));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(eval(&exec, "'next'").unwrap().unwrap(), "'next'");
    assert_eq!(exec.replaced(), 0);
}

#[test]
fn the_setup_error_is_returned_by_new() {
    let r = Executor::<()>::new(ExecutorConfig::default(), || Err(Error::Host("no engine".into())));
    assert_eq!(r.map(|_| ()).unwrap_err(), Error::Host("no engine".into()));
}

#[test]
fn cancelling_a_running_job_after_it_started() {
    let exec = js_executor(60_000);
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let ticket = exec.submit(None, move |ctx| {
        let started = std::sync::Mutex::new(started_tx);
        ctx.register_fn("started", move |(): ()| {
            let _ = started.lock().map(|s| s.send(()));
            Ok::<_, String>(true)
        })?;
        ctx.eval("started(); for (;;) {}").map(|c| c.display)
    });
    started_rx.recv_timeout(Duration::from_secs(20)).expect("the job never started");
    let t = Instant::now();
    ticket.cancel_handle().cancel();
    // The run stops at its next interrupt check: the job itself returns `Cancelled`.
    assert_eq!(ticket.wait().unwrap(), Err(Error::Cancelled));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(exec.replaced(), 0);
    // The cancellation does not leak into the next job.
    assert_eq!(eval(&exec, "1 + 1").unwrap().unwrap(), "2");
}

#[test]
fn cancelling_a_queued_job_answers_it_without_running_it() {
    let exec = js_executor(60_000);
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let first = exec.submit(None, move |_| go_rx.recv_timeout(Duration::from_secs(20)).is_ok());
    let (ran_tx, ran_rx) = mpsc::channel::<()>();
    let second = exec.submit(None, move |_| {
        let _ = ran_tx.send(());
    });
    second.cancel();
    go_tx.send(()).unwrap();
    assert!(first.wait().unwrap());
    assert_eq!(second.wait(), Err(Error::Cancelled));
    assert!(ran_rx.try_recv().is_err(), "the cancelled job ran");
}

#[test]
fn a_panicking_job_is_a_typed_error_and_the_state_is_rebuilt() {
    let exec = js_executor(1000);
    assert_eq!(eval(&exec, "globalThis.x = 1").unwrap().unwrap(), "1");
    let r = exec.run(None, |_| -> u8 { panic!("boom") });
    assert_eq!(r, Err(Error::JobPanicked { message: "boom".into() }));
    // Rebuilt by the setup: what guest code built before the panic is gone.
    assert_eq!(eval(&exec, "typeof x").unwrap().unwrap(), "'undefined'");
}

#[test]
fn a_job_timeout_bounds_work_outside_any_run() {
    let exec = Executor::new(ExecutorConfig::default(), || Ok(())).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let t = Instant::now();
    // The job blocks until the test lets it go: only the job's own deadline ends it.
    let r = exec.run(Some(Duration::from_millis(50)), move |_| {
        let _ = rx.recv();
    });
    assert_eq!(r, Err(Error::Timeout));
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(5), "took {took:?}");
    drop(tx);
    assert_eq!(exec.run(None, |_| "after").unwrap(), "after");
    assert_eq!(exec.replaced(), 1);
}

#[test]
fn many_submitters_on_several_threads() {
    let exec = js_executor(5000);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let exec = exec.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        let n = t * 100 + i;
                        exec.run(None, move |ctx| ctx.eval(&format!("{n} * 2")).map(|c| c.value)).unwrap().unwrap()
                            == Some(serde_json::json!(n * 2))
                    })
                    .filter(|ok| *ok)
                    .count()
            })
        })
        .collect();
    let done: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(done, 200);
}

struct Flag(std::sync::Mutex<mpsc::Sender<()>>);
impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        let _ = self.0.lock().map(|s| s.send(()));
    }
}

#[test]
fn a_ticket_is_a_future_woken_when_the_job_ends() {
    let exec = js_executor(1000);
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let mut ticket = exec.submit(None, move |ctx| {
        let _ = go_rx.recv_timeout(Duration::from_secs(20));
        ctx.eval("'done'").map(|c| c.display)
    });
    let (woken_tx, woken_rx) = mpsc::channel();
    let waker = Waker::from(Arc::new(Flag(std::sync::Mutex::new(woken_tx))));
    let mut cx = TaskContext::from_waker(&waker);
    assert!(std::pin::Pin::new(&mut ticket).poll(&mut cx).is_pending());
    assert!(ticket.wait_timeout(Duration::from_millis(20)).is_none());
    go_tx.send(()).unwrap();
    woken_rx.recv_timeout(Duration::from_secs(20)).expect("never woken");
    match std::pin::Pin::new(&mut ticket).poll(&mut cx) {
        Poll::Ready(r) => assert_eq!(r.unwrap().unwrap(), "'done'"),
        Poll::Pending => panic!("woken but not ready"),
    }
}

#[test]
fn a_setup_that_fails_after_a_panic_is_retried_before_the_next_job() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let exec = Executor::new(ExecutorConfig::default(), move || {
        match counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            1 => Err(Error::Host("second setup fails".into())),
            n => Ok(n),
        }
    })
    .unwrap();
    assert_eq!(exec.run(None, |n| *n).unwrap(), 0);
    assert_eq!(exec.run(None, |_| -> u8 { panic!("boom") }), Err(Error::JobPanicked { message: "boom".into() }));
    // The rebuild after the panic failed; the next job retries the setup and runs.
    assert_eq!(exec.run(None, |n| *n).unwrap(), 2);
}

#[test]
fn a_wait_longer_than_the_clock_can_count_waits_for_the_answer() {
    // `Instant::now() + Duration::MAX` would panic; the ticket waits as `wait` does instead.
    let exec = js_executor(1000);
    let mut ticket = exec.submit(None, |ctx| ctx.eval("6 * 7").map(|c| c.display));
    let got = ticket.wait_timeout(Duration::MAX).expect("an answer, not a timeout");
    assert_eq!(got.unwrap().unwrap(), "42");
}
