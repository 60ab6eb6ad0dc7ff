//! One bounded guest executor: a guest thread with a known stack, the state built on it, and a
//! supervisor that gives up on a job stuck past its deadline.
//!
//! The engine's interrupt ends ordinary runs at their deadline. A guest stuck inside one long
//! builtin (`new Array(2**32-1).join()`) never reaches an interrupt check; the supervisor then
//! abandons the thread at the deadline plus [`grace_for`] (counted by an [`AbandonedThread`]
//! token until the thread ends by itself), answers the job's [`Ticket`], and starts a
//! replacement thread that re-runs the setup. [`check_capacity`] refuses work once the
//! process-wide cap of abandoned threads is reached.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use crate::runtime::GuestScope;
use crate::{check_capacity, grace_for, AbandonedThread, Error, Result, GUEST_THREAD_STACK};

/// How often the supervisor looks at a running job's deadlines.
const POLL: Duration = Duration::from_millis(10);

/// How an [`Executor`] runs its guest thread.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// The guest thread's name. Default `"sandvm-guest"`.
    pub name: String,
    /// The guest thread's native stack in bytes. Default [`GUEST_THREAD_STACK`], room for the
    /// largest engine stack limit plus host code.
    pub stack_size: usize,
    /// Also watch the runtimes that a job creates on other threads (a job that starts
    /// threads of its own). Only for a process that runs one executor, like a command-line
    /// tool: every runtime of the process is then watched. Default `false`: only runtimes
    /// made on the guest thread are watched.
    pub watch_process: bool,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig { name: "sandvm-guest".into(), stack_size: GUEST_THREAD_STACK, watch_process: false }
    }
}

type Setup<S> = dyn Fn() -> Result<S> + Send + Sync;

/// Answers a ticket with an error when its job cannot run or was given up on.
trait Fail: Send + Sync {
    fn fail(&self, e: Error);
}

/// One queued job.
struct Job<S> {
    ctl: Arc<JobCtl>,
    timeout: Option<Duration>,
    /// Runs the job and answers its ticket; returns false when the job panicked.
    run: Box<dyn FnOnce(&mut S) -> bool + Send>,
    fail: Arc<dyn Fail>,
}

/// The job in progress on the current guest thread.
struct Running {
    ctl: Arc<JobCtl>,
    started: Instant,
    timeout: Option<Duration>,
    cancelled_at: Option<Instant>,
    fail: Arc<dyn Fail>,
}

/// One guest thread: while the executor's `worker` is this one, it takes jobs.
#[derive(Default)]
struct Worker {
    scope: Arc<GuestScope>,
    /// Set when the thread is abandoned; dropped with the thread's last reference.
    abandoned: Mutex<Option<AbandonedThread>>,
}

struct Inner<S> {
    queue: VecDeque<Job<S>>,
    running: Option<Running>,
    worker: Option<Arc<Worker>>,
    closed: bool,
}

struct Shared<S> {
    config: ExecutorConfig,
    setup: Box<Setup<S>>,
    inner: Mutex<Inner<S>>,
    /// Signalled on every change of `inner`.
    changed: Condvar,
    replaced: AtomicU64,
}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A `Send + Sync` handle on one guest thread that runs jobs one at a time, each bounded by a
/// hard deadline.
///
/// The guest thread owns state `S` (a [`crate::Runtime`] and its [`crate::Context`]s, a REPL
/// session, or `()`), built on that thread by the setup closure; `S` need not be `Send`.
/// Jobs are `FnOnce(&mut S) -> R + Send` closures whose result `R` comes back through a
/// [`Ticket`] that can be waited on from a blocking thread ([`Ticket::wait`]), with a
/// timeout ([`Ticket::wait_timeout`]), or awaited as a [`Future`] by any executor (Tokio, a
/// Node addon's async work, a Python extension that released the GIL).
///
/// Deadlines, with the one grace policy [`grace_for`]:
/// - every run of a [`crate::Runtime`] made on the guest thread is watched: when it is still
///   going `grace_for(timeout)` after its own deadline, it is stuck in a builtin the engine
///   cannot interrupt;
/// - a job submitted with a timeout is stuck when it runs longer than `timeout +
///   grace_for(timeout)` (counted from when it starts on the guest thread);
/// - a cancelled job ([`Ticket::cancel`]) is stuck when it has not ended `grace_for` its
///   timeout (or [`grace_for`]`(0)`, 250 ms, without one) after the request.
///
/// A stuck job's ticket is answered with [`Error::Timeout`] (or [`Error::Cancelled`] after a
/// cancellation), its thread is abandoned and counted ([`crate::abandoned_threads`]), and a
/// new guest thread re-runs the setup for the jobs that follow. While the process-wide cap
/// of abandoned threads is reached ([`crate::set_max_abandoned_threads`]), jobs are answered
/// with [`Error::Saturated`]. A job that panics is answered with [`Error::JobPanicked`] and
/// the setup is re-run on the same thread (a failed setup is retried before the next job).
/// CPU-time budgets without a wall-clock timeout are not watched.
///
/// Dropping the last handle lets queued jobs finish, then ends the guest thread.
///
/// ```
/// use std::future::Future;
/// use std::sync::Arc;
/// use std::task::{Context as TaskContext, Poll, Wake, Waker};
/// use std::time::Duration;
///
/// // A minimal `block_on`: no async runtime is needed to await a ticket.
/// struct Unpark(std::thread::Thread);
/// impl Wake for Unpark {
///     fn wake(self: Arc<Self>) { self.0.unpark() }
/// }
/// fn block_on<F: Future>(f: F) -> F::Output {
///     let mut f = std::pin::pin!(f);
///     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
///     let mut cx = TaskContext::from_waker(&waker);
///     loop {
///         if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
///             return v;
///         }
///         std::thread::park();
///     }
/// }
///
/// # fn main() -> sandvm::Result<()> {
/// let limits = sandvm::Limits { timeout: Some(Duration::from_millis(100)), ..Default::default() };
/// let exec = sandvm::Executor::new(sandvm::ExecutorConfig::default(), move || {
///     let rt = sandvm::Runtime::new(limits.clone())?;
///     sandvm::Context::new(&rt, sandvm::ContextOptions::default())
/// })?;
/// let answer = block_on(async {
///     let six = exec.submit(None, |ctx| ctx.eval("1 + 2 + 3").map(|c| c.display)).await??;
///     let stuck = exec.submit(None, |ctx| ctx.eval("for (;;) {}").map(|c| c.display)).await?;
///     Ok::<_, sandvm::Error>((six, stuck))
/// })?;
/// assert_eq!(answer, ("6".to_string(), Err(sandvm::Error::Timeout)));
/// # Ok(()) }
/// ```
pub struct Executor<S: 'static> {
    handle: Arc<Handle<S>>,
}

/// Closes the executor when the last [`Executor`] clone goes away.
struct Handle<S> {
    shared: Arc<Shared<S>>,
}

impl<S> Drop for Handle<S> {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
    }
}

impl<S> Clone for Executor<S> {
    fn clone(&self) -> Self {
        Executor { handle: self.handle.clone() }
    }
}

impl<S> std::fmt::Debug for Executor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("config", &self.handle.shared.config)
            .field("replaced", &self.replaced())
            .finish_non_exhaustive()
    }
}

impl<S: 'static> Executor<S> {
    /// Starts the guest thread and the supervisor, runs `setup` on the guest thread and waits
    /// for it. `setup` runs again on every replacement thread (and after a job panicked).
    ///
    /// # Errors
    /// The error of the first `setup`; [`Error::Saturated`] when the cap of abandoned threads
    /// is reached; [`Error::EngineInit`] when a thread cannot be started.
    pub fn new(config: ExecutorConfig, setup: impl Fn() -> Result<S> + Send + Sync + 'static) -> Result<Executor<S>> {
        check_capacity()?;
        let shared = Arc::new(Shared {
            config,
            setup: Box::new(setup),
            inner: Mutex::new(Inner { queue: VecDeque::new(), running: None, worker: None, closed: false }),
            changed: Condvar::new(),
            replaced: AtomicU64::new(0),
        });
        // Made first: on any error below, dropping it closes the threads already started.
        let exec = Executor { handle: Arc::new(Handle { shared: shared.clone() }) };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        start_worker(&shared, Some(ready_tx))?;
        std::thread::Builder::new()
            .name(format!("{}-supervisor", shared.config.name))
            .spawn(move || supervise(&shared))
            .map_err(|e| Error::init("the supervisor thread", e))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(exec),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::init("the guest thread", "it ended while starting")),
        }
    }

    /// Queues `job` for the guest thread; the ticket is answered at once with
    /// [`Error::Saturated`] while the process-wide cap of abandoned threads is reached.
    /// `timeout` is the job's own hard deadline, counted from when it starts (`None`: only
    /// the deadlines of its runs are watched); past `timeout + grace_for(timeout)` the thread
    /// is abandoned and the ticket answered with [`Error::Timeout`].
    ///
    /// Dropping the ticket does not cancel the job; call [`Ticket::cancel`] for that.
    pub fn submit<R, F>(&self, timeout: Option<Duration>, job: F) -> Ticket<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut S) -> R + Send + 'static,
    {
        let slot = Arc::new(Slot::<R>::default());
        let ctl = Arc::new(JobCtl::default());
        let ticket = Ticket { slot: slot.clone(), cancel: JobCancel(ctl.clone()) };
        let done = slot.clone();
        let run = Box::new(move |state: &mut S| match catch_unwind(AssertUnwindSafe(|| job(state))) {
            Ok(r) => {
                done.complete(Ok(r));
                true
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                done.complete(Err(Error::JobPanicked { message }));
                false
            }
        });
        let shared = &self.handle.shared;
        let mut inner = shared.lock();
        let started = check_capacity().and_then(|()| match inner.worker {
            Some(_) => Ok(()),
            // The last thread was abandoned while the cap was reached: replace it now.
            None => start_worker_locked(shared, &mut inner, None),
        });
        if let Err(e) = started {
            slot.complete(Err(e));
            return ticket;
        }
        inner.queue.push_back(Job { ctl, timeout, run, fail: slot });
        drop(inner);
        shared.changed.notify_all();
        ticket
    }

    /// Submits `job` and waits for it (see [`Executor::submit`] and [`Ticket::wait`]).
    ///
    /// # Errors
    /// As [`Ticket::wait`].
    pub fn run<R, F>(&self, timeout: Option<Duration>, job: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut S) -> R + Send + 'static,
    {
        self.submit(timeout, job).wait()
    }

    /// How many times the guest thread was replaced (abandoned while stuck).
    pub fn replaced(&self) -> u64 {
        self.handle.shared.replaced.load(SeqCst)
    }
}

fn start_worker<S: 'static>(shared: &Arc<Shared<S>>, ready: Option<std::sync::mpsc::Sender<Result<()>>>) -> Result<()> {
    let mut inner = shared.lock();
    start_worker_locked(shared, &mut inner, ready)
}

/// Starts a guest thread and makes it the current worker.
fn start_worker_locked<S: 'static>(
    shared: &Arc<Shared<S>>,
    inner: &mut Inner<S>,
    ready: Option<std::sync::mpsc::Sender<Result<()>>>,
) -> Result<()> {
    let worker = Arc::new(Worker::default());
    if shared.config.watch_process {
        GuestScope::watch_process(&worker.scope);
    }
    let (sh, w) = (shared.clone(), worker.clone());
    std::thread::Builder::new()
        .name(shared.config.name.clone())
        .stack_size(shared.config.stack_size)
        .spawn(move || guest_main(&sh, w, ready))
        .map_err(|e| Error::init("the guest thread", e))?;
    inner.worker = Some(worker);
    Ok(())
}

fn build<S>(shared: &Shared<S>) -> Result<S> {
    catch_unwind(AssertUnwindSafe(|| (shared.setup)()))
        .unwrap_or_else(|_| Err(Error::JobPanicked { message: "the executor's setup panicked".into() }))
}

/// The guest thread: builds the state, then takes jobs while it is the current worker.
fn guest_main<S>(shared: &Shared<S>, me: Arc<Worker>, ready: Option<std::sync::mpsc::Sender<Result<()>>>) {
    GuestScope::install(&me.scope);
    let mut state = build(shared);
    if let Some(tx) = ready {
        let _ = tx.send(state.as_ref().map(|_| ()).map_err(Error::clone));
    }
    loop {
        let job = {
            let mut inner = shared.lock();
            loop {
                if !is_current(&inner, &me) {
                    return;
                }
                if let Some(job) = inner.queue.pop_front() {
                    if job.ctl.cancelled.load(SeqCst) {
                        job.fail.fail(Error::Cancelled);
                        continue;
                    }
                    me.scope.begin_job();
                    inner.running = Some(Running {
                        ctl: job.ctl.clone(),
                        started: Instant::now(),
                        timeout: job.timeout,
                        cancelled_at: None,
                        fail: job.fail.clone(),
                    });
                    shared.changed.notify_all();
                    break job;
                }
                if inner.closed {
                    inner.worker = None;
                    shared.changed.notify_all();
                    return;
                }
                inner = shared.changed.wait(inner).unwrap_or_else(|p| p.into_inner());
            }
        };
        job.ctl.set_scope(Some(me.scope.clone()));
        if job.ctl.cancelled.load(SeqCst) {
            // Cancelled between the queue and here: its runs stop at once.
            me.scope.cancel();
        }
        if state.is_err() {
            // The setup failed last time (or after a panic): try again for this job.
            state = build(shared);
        }
        let ok = match &mut state {
            Ok(s) => (job.run)(s),
            Err(e) => {
                job.fail.fail(e.clone());
                true
            }
        };
        job.ctl.finished.store(true, SeqCst);
        job.ctl.set_scope(None);
        {
            let mut inner = shared.lock();
            if !is_current(&inner, &me) {
                // Abandoned while the job ran: another thread took over. Free the state now,
                // then the token (with `me`) when the thread ends.
                break;
            }
            inner.running = None;
        }
        shared.changed.notify_all();
        if !ok {
            state = build(shared);
        }
    }
    drop(state);
}

fn is_current<S>(inner: &Inner<S>, me: &Arc<Worker>) -> bool {
    inner.worker.as_ref().is_some_and(|w| Arc::ptr_eq(w, me))
}

/// The supervisor: watches the running job's deadlines and abandons a stuck guest thread.
fn supervise<S: 'static>(shared: &Arc<Shared<S>>) {
    let mut inner = shared.lock();
    loop {
        if inner.closed && inner.running.is_none() && (inner.queue.is_empty() || inner.worker.is_none()) {
            for job in inner.queue.drain(..) {
                job.fail.fail(Error::ExecutorClosed);
            }
            return;
        }
        let Some(run) = inner.running.as_mut() else {
            inner = shared.changed.wait(inner).unwrap_or_else(|p| p.into_inner());
            continue;
        };
        let now = Instant::now();
        if run.cancelled_at.is_none() && run.ctl.cancelled.load(SeqCst) {
            run.cancelled_at = Some(now);
        }
        let over = |t: Duration| now.duration_since(run.started) > t.saturating_add(grace_for(t));
        let cancel_grace = grace_for(run.timeout.unwrap_or_default());
        let stuck = !run.ctl.finished.load(SeqCst)
            && (run.timeout.is_some_and(over)
                || run.cancelled_at.is_some_and(|c| now.duration_since(c) > cancel_grace)
                || inner.worker.as_ref().is_some_and(|w| w.scope.overdue()));
        if stuck {
            abandon(shared, &mut inner);
            shared.changed.notify_all();
            continue;
        }
        inner = shared.changed.wait_timeout(inner, POLL).map(|(g, _)| g).unwrap_or_else(|p| p.into_inner().0);
    }
}

/// Gives up on the current guest thread: counts it, answers its job, starts a replacement
/// (unless the cap is reached: then the queued jobs are refused).
fn abandon<S: 'static>(shared: &Arc<Shared<S>>, inner: &mut Inner<S>) {
    let (Some(run), Some(worker)) = (inner.running.take(), inner.worker.take()) else {
        return;
    };
    if let Ok(mut token) = worker.abandoned.lock() {
        *token = Some(AbandonedThread::new());
    }
    drop(worker);
    shared.replaced.fetch_add(1, SeqCst);
    run.fail.fail(if run.cancelled_at.is_some() { Error::Cancelled } else { Error::Timeout });
    if inner.closed && inner.queue.is_empty() {
        return;
    }
    if let Err(e) = check_capacity().and_then(|()| start_worker_locked(shared, inner, None)) {
        for job in inner.queue.drain(..) {
            job.fail.fail(e.clone());
        }
    }
}

/// Shared between a ticket, its queued job and the supervisor.
#[derive(Default)]
struct JobCtl {
    cancelled: AtomicBool,
    finished: AtomicBool,
    /// The scope of the guest thread while the job runs on it.
    scope: Mutex<Option<Arc<GuestScope>>>,
}

impl JobCtl {
    fn set_scope(&self, scope: Option<Arc<GuestScope>>) {
        *self.scope.lock().unwrap_or_else(|p| p.into_inner()) = scope;
    }
}

/// A `Send + Sync` handle that cancels one job (see [`Ticket::cancel`]).
#[derive(Clone)]
pub struct JobCancel(Arc<JobCtl>);

impl std::fmt::Debug for JobCancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobCancel").field("cancelled", &self.0.cancelled.load(SeqCst)).finish()
    }
}

impl JobCancel {
    /// Requests cancellation of the job: a queued job is answered with [`Error::Cancelled`]
    /// without running; a running job's runtime runs stop with [`Error::Cancelled`] at their
    /// next interrupt check (the job's own result then carries it); a job that has not ended
    /// [`grace_for`] its timeout later is abandoned and answered with [`Error::Cancelled`].
    /// Does nothing once the job ended.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, SeqCst);
        if let Some(scope) = self.0.scope.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            scope.cancel();
        }
    }
}

/// The answer to one submitted job: wait for it, poll it as a [`Future`], or cancel it.
#[must_use = "a ticket is how the job's result comes back"]
pub struct Ticket<R> {
    slot: Arc<Slot<R>>,
    cancel: JobCancel,
}

impl<R> std::fmt::Debug for Ticket<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket").field("cancel", &self.cancel).finish_non_exhaustive()
    }
}

impl<R> Ticket<R> {
    /// Blocks until the job is answered.
    ///
    /// # Errors
    /// Errors of the executor, not of the job (those are in `R`): [`Error::Timeout`] when the
    /// job was stuck past its deadline and abandoned; [`Error::Cancelled`] when it was
    /// cancelled before it ran or abandoned after a cancellation; [`Error::Saturated`];
    /// [`Error::JobPanicked`]; the setup's error when the guest state could not be built;
    /// [`Error::ExecutorClosed`] when the executor was closed, [`Error::EngineInit`]
    /// when a thread could not be started.
    pub fn wait(self) -> Result<R> {
        let mut st = self.slot.lock();
        loop {
            if let Some(r) = st.result.take() {
                return r;
            }
            st = self.slot.done.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Blocks at most `timeout` for the answer; `None` when it has not come (the ticket can be
    /// waited on again).
    ///
    /// # Errors
    /// As [`Ticket::wait`].
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<R>> {
        // A timeout too large for the clock (`Duration::MAX`) waits as long as `wait` does.
        let end = Instant::now().checked_add(timeout);
        let mut st = self.slot.lock();
        loop {
            if let Some(r) = st.result.take() {
                return Some(r);
            }
            let Some(end) = end else {
                st = self.slot.done.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            };
            let left = end.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
            st = self.slot.done.wait_timeout(st, left).map(|(g, _)| g).unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Cancels the job (see [`JobCancel::cancel`]).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// A handle that cancels this job from another thread (a Ctrl-C handler).
    pub fn cancel_handle(&self) -> JobCancel {
        self.cancel.clone()
    }
}

impl<R> Future for Ticket<R> {
    type Output = Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<R>> {
        let mut st = self.slot.lock();
        match st.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A one-shot answer: a mutex, a condition variable for blocking waiters and a waker for a
/// future.
struct Slot<R> {
    state: Mutex<SlotState<R>>,
    done: Condvar,
}

struct SlotState<R> {
    result: Option<Result<R>>,
    answered: bool,
    waker: Option<Waker>,
}

impl<R> Default for Slot<R> {
    fn default() -> Self {
        Slot { state: Mutex::new(SlotState { result: None, answered: false, waker: None }), done: Condvar::new() }
    }
}

impl<R> Slot<R> {
    fn lock(&self) -> MutexGuard<'_, SlotState<R>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers once; later answers (a job that ends after it was abandoned) are dropped.
    fn complete(&self, r: Result<R>) {
        let mut st = self.lock();
        if st.answered {
            return;
        }
        st.answered = true;
        st.result = Some(r);
        let waker = st.waker.take();
        drop(st);
        self.done.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<R: Send> Fail for Slot<R> {
    fn fail(&self, e: Error) {
        self.complete(Err(e));
    }
}
