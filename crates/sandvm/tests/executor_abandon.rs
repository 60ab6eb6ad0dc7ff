//! Guests stuck where the engine cannot interrupt them: the executor abandons the thread,
//! replays the setup on a new one, counts the abandoned thread until it ends, and the
//! process-wide cap turns further work into `Saturated`. Alone in its own test binary: it
//! changes the process-wide cap and asserts the process-wide counts.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use sandvm::{Context, ContextOptions, Error, Executor, ExecutorConfig, Limits, Runtime};
use sandvm_testkit::wait_until;

/// An executor whose context (100 ms timeout) has `marker` and a host function `block()`
/// that returns only when the test sends on the returned channel: a run stuck outside any
/// interrupt check, released on demand. Counts its setups.
fn executor() -> (Executor<Context>, Arc<AtomicUsize>, mpsc::Sender<()>) {
    let (release, released) = mpsc::channel::<()>();
    let released = Arc::new(Mutex::new(released));
    let setups = Arc::new(AtomicUsize::new(0));
    let counted = setups.clone();
    let exec = Executor::new(ExecutorConfig::default(), move || {
        counted.fetch_add(1, SeqCst);
        let limits = Limits { timeout: Some(Duration::from_millis(100)), memory: 1 << 30, ..Default::default() };
        let ctx = Context::new(&Runtime::new(limits)?, ContextOptions::default())?;
        ctx.set_global("marker", &serde_json::json!("from setup"))?;
        let released = released.clone();
        ctx.register_fn("block", move |(): ()| {
            let _ = released.lock().map(|r| r.recv());
            Ok::<_, String>(true)
        })?;
        Ok(ctx)
    })
    .unwrap();
    (exec, setups, release)
}

#[test]
fn stuck_guests_are_abandoned_replaced_counted_and_capped() {
    let (exec, setups, release) = executor();
    assert_eq!(setups.load(SeqCst), 1);
    let total_before = sandvm::total_abandoned_threads();

    // Ordinary runs end at their deadline through the interrupt: nothing is abandoned.
    let r = exec.run(None, |ctx| ctx.eval("while (true) {}").map(|c| c.display)).unwrap();
    assert_eq!(r, Err(Error::Timeout));
    assert_eq!(exec.replaced(), 0);

    // A run stuck in one builtin (for minutes) is given up on at its deadline plus
    // grace_for(100 ms) = 250 ms.
    let t = Instant::now();
    let stuck = exec.run(None, |ctx| ctx.eval("new Array(2 ** 32 - 1).join().length").map(|c| c.display));
    let took = t.elapsed();
    assert_eq!(stuck.unwrap_err(), Error::Timeout);
    assert!(took >= Duration::from_millis(350) && took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(exec.replaced(), 1);
    assert_eq!(sandvm::total_abandoned_threads(), total_before + 1);
    let with_builtin = sandvm::abandoned_threads();
    assert!(with_builtin >= 1);

    // The next job runs on a new thread whose setup was replayed.
    let next = exec.run(None, |ctx| ctx.eval("marker + ' ' + (6 * 7)").map(|c| c.display)).unwrap();
    assert_eq!(next.unwrap(), "'from setup 42'");
    assert_eq!(setups.load(SeqCst), 2);

    // A run stuck in a host function: abandoned the same way, counted while it lives.
    let blocked = exec.run(None, |ctx| ctx.eval("block()").map(|c| c.display));
    assert_eq!(blocked.unwrap_err(), Error::Timeout);
    assert_eq!(sandvm::abandoned_threads(), with_builtin + 1);
    // The replacement thread replays the setup right away, before any job asks for it.
    wait_until(Duration::from_secs(20), "the replacement to replay the setup", || setups.load(SeqCst) == 3);

    // At the cap, work is refused with a typed error, by running executors and new ones.
    sandvm::set_max_abandoned_threads(sandvm::abandoned_threads());
    let refused = exec.run(None, |_| ());
    assert_eq!(refused, Err(Error::Saturated { abandoned: with_builtin + 1, max: with_builtin + 1 }));
    let new = Executor::new(ExecutorConfig::default(), || Ok(())).map(|_| ());
    assert!(matches!(new, Err(Error::Saturated { .. })), "{new:?}");

    // Once the blocked thread ends, it is no longer counted and work is accepted again.
    release.send(()).unwrap();
    wait_until(Duration::from_secs(20), "the released thread to be no longer counted", || {
        sandvm::abandoned_threads() == with_builtin
    });
    assert_eq!(exec.run(None, |ctx| ctx.eval("marker").map(|c| c.display)).unwrap().unwrap(), "'from setup'");
    sandvm::set_max_abandoned_threads(sandvm::DEFAULT_MAX_ABANDONED);
}
