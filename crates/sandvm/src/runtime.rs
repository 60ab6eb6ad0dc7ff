//! Runtimes: one per tenant or trust level. A runtime owns the engine heap, the limits, the
//! interrupt (timeout / cancellation) machinery, and is shared by the contexts made in it.

use std::cell::{Cell, Ref, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

use crate::alloc::{CountingAllocator, HeapStats};
use crate::{Error, Limits, Result};

/// Why the interrupt handler stopped the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Trip {
    None = 0,
    Timeout = 1,
    Cancelled = 2,
    Output = 3,
    Jobs = 4,
    Memory = 5,
}

impl Trip {
    fn from_u8(v: u8) -> Trip {
        match v {
            1 => Trip::Timeout,
            2 => Trip::Cancelled,
            3 => Trip::Output,
            4 => Trip::Jobs,
            5 => Trip::Memory,
            _ => Trip::None,
        }
    }
    pub(crate) fn error(self) -> Option<Error> {
        match self {
            Trip::None => None,
            Trip::Timeout => Some(Error::Timeout),
            Trip::Cancelled => Some(Error::Cancelled),
            Trip::Output => Some(Error::OutputLimit),
            Trip::Jobs => Some(Error::JobLimit),
            Trip::Memory => Some(Error::MemoryLimit),
        }
    }
}

const NO_DEADLINE: u64 = u64::MAX;

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    epoch().elapsed().as_nanos().min(u128::from(u64::MAX - 1)) as u64
}

/// CPU time consumed by the calling thread, in nanoseconds.
pub(crate) fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant libc knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// State shared between a runtime, its interrupt handler and its [`CancelHandle`]s.
#[derive(Debug)]
pub(crate) struct Watch {
    cancel: AtomicBool,
    deadline: AtomicU64,
    /// `deadline` plus [`crate::grace_for`] the run's timeout: past it, an executor calls the
    /// run stuck (`NO_DEADLINE` when no run with a timeout is in progress).
    hard_deadline: AtomicU64,
    cpu_deadline: AtomicU64,
    tripped: AtomicU8,
    polls: AtomicU32,
    /// Thread CPU time at the first interrupt poll of the run (or at its start when a CPU budget
    /// is set); `NO_DEADLINE` until then. Reading the thread CPU clock is a system call
    /// (~0.5 µs), so short runs that never poll do not pay for it.
    cpu_mark: AtomicU64,
    /// Wall time (`now_ns`) when `cpu_mark` was taken.
    cpu_mark_wall: AtomicU64,
}

impl Watch {
    fn new() -> Self {
        Watch {
            cancel: AtomicBool::new(false),
            deadline: AtomicU64::new(NO_DEADLINE),
            hard_deadline: AtomicU64::new(NO_DEADLINE),
            cpu_deadline: AtomicU64::new(NO_DEADLINE),
            tripped: AtomicU8::new(0),
            polls: AtomicU32::new(0),
            cpu_mark: AtomicU64::new(NO_DEADLINE),
            cpu_mark_wall: AtomicU64::new(0),
        }
    }

    /// Stops the guest for `why` (the first reason wins) and keeps stopping it.
    pub(crate) fn trip(&self, why: Trip) {
        let _ = self.tripped.compare_exchange(0, why as u8, Relaxed, Relaxed);
    }

    pub(crate) fn tripped(&self) -> Trip {
        Trip::from_u8(self.tripped.load(Relaxed))
    }

    /// Polled by the engine; true interrupts the guest with an uncatchable error.
    pub(crate) fn should_interrupt(&self) -> bool {
        if self.tripped.load(Relaxed) != 0 {
            return true;
        }
        if self.cpu_mark.load(Relaxed) == NO_DEADLINE {
            self.mark_cpu();
        }
        if self.cancel.load(Relaxed) {
            self.trip(Trip::Cancelled);
            return true;
        }
        let deadline = self.deadline.load(Relaxed);
        if deadline != NO_DEADLINE && now_ns() >= deadline {
            self.trip(Trip::Timeout);
            return true;
        }
        let cpu = self.cpu_deadline.load(Relaxed);
        if cpu != NO_DEADLINE && self.polls.fetch_add(1, Relaxed) % 8 == 0 && thread_cpu_ns() >= cpu {
            self.trip(Trip::Timeout);
            return true;
        }
        false
    }

    fn mark_cpu(&self) {
        self.cpu_mark_wall.store(now_ns(), Relaxed);
        self.cpu_mark.store(thread_cpu_ns(), Relaxed);
    }

    /// CPU nanoseconds of the run that started at wall time `start_ns`: measured from the first
    /// interrupt poll, plus the wall time before it (the guest was running on this thread).
    pub(crate) fn run_cpu_ns(&self, start_ns: u64) -> u64 {
        let mark = self.cpu_mark.load(Relaxed);
        if mark == NO_DEADLINE {
            return now_ns().saturating_sub(start_ns);
        }
        let before = self.cpu_mark_wall.load(Relaxed).saturating_sub(start_ns);
        thread_cpu_ns().saturating_sub(mark) + before
    }

    fn arm(&self, limits: &Limits) {
        self.tripped.store(0, Relaxed);
        self.cpu_mark.store(NO_DEADLINE, Relaxed);
        let now = now_ns();
        let after = |t: std::time::Duration| now.saturating_add(t.as_nanos().min(u128::from(u64::MAX / 4)) as u64);
        self.deadline.store(limits.timeout.map(after).unwrap_or(NO_DEADLINE), Relaxed);
        let hard = limits.timeout.map(|t| after(t.saturating_add(crate::grace_for(t))));
        self.hard_deadline.store(hard.unwrap_or(NO_DEADLINE), Relaxed);
        let cpu = match limits.cpu_time {
            Some(t) => {
                self.mark_cpu();
                self.cpu_mark.load(Relaxed).saturating_add(t.as_nanos().min(u128::from(u64::MAX / 2)) as u64)
            }
            None => NO_DEADLINE,
        };
        self.cpu_deadline.store(cpu, Relaxed);
    }

    fn disarm(&self) {
        self.deadline.store(NO_DEADLINE, Relaxed);
        self.hard_deadline.store(NO_DEADLINE, Relaxed);
        self.cpu_deadline.store(NO_DEADLINE, Relaxed);
        if self.tripped() == Trip::Cancelled {
            self.cancel.store(false, Relaxed);
        }
        self.tripped.store(0, Relaxed);
    }
}

/// A cloneable, `Send` handle that interrupts guest code running in a [`Runtime`] from any
/// thread.
///
/// `cancel()` stops the run in progress with [`Error::Cancelled`]; when no run is in progress it
/// cancels the next one.
#[derive(Debug, Clone)]
pub struct CancelHandle(Arc<Watch>);

impl CancelHandle {
    /// Requests cancellation. Returns at once; the guest stops at its next interrupt check
    /// (a backward jump, a call, a regexp step).
    pub fn cancel(&self) {
        self.0.cancel.store(true, Relaxed);
    }

    /// Withdraws a cancellation that no run has consumed yet (for a caller whose job already
    /// ended, so that the request does not cancel the next run).
    pub fn clear_cancel(&self) {
        self.0.cancel.store(false, Relaxed);
    }

    /// True while a cancellation is requested and not yet consumed by a run.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancel.load(Relaxed)
    }
}

/// One engine instance: heap, job queue, atoms. Replaced when spent.
pub(crate) struct Engine {
    pub(crate) rt: rquickjs::Runtime,
    pub(crate) heap: Arc<HeapStats>,
}

impl Engine {
    fn new(limits: &Limits, watch: &Arc<Watch>) -> Result<Engine> {
        let heap = HeapStats::new(limits.effective_memory());
        let rt = rquickjs::Runtime::new_with_alloc(CountingAllocator(heap.clone(), Some(watch.clone())))
            .map_err(|e| Error::init("the engine runtime", e))?;
        rt.set_max_stack_size(limits.effective_stack());
        let w = watch.clone();
        rt.set_interrupt_handler(Some(Box::new(move || w.should_interrupt())));
        Ok(Engine { rt, heap })
    }
}

pub(crate) struct RuntimeInner {
    limits: RefCell<Limits>,
    engine: RefCell<Engine>,
    watch: Arc<Watch>,
    generation: Cell<u64>,
    spent: Cell<bool>,
    running: Cell<bool>,
}

/// A sandbox runtime: one per tenant or trust level.
///
/// It holds the limits, the heap (shared by all contexts made in it) and the job queue. After a
/// run hits the memory limit, overflows the stack or is interrupted (timeout, cancellation),
/// the engine is considered spent and is transparently replaced before the next run: the
/// contexts made in it are rebuilt from their options, globals and host functions (state the
/// guest built up is lost), and the next run has full limits again.
///
/// A `Runtime` is cheap to clone (a shared handle) and is not `Send`: create it on the thread
/// that uses it. Use [`Runtime::cancel_handle`] to stop it from another thread.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Rc<RuntimeInner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &*self.inner.limits.borrow())
            .field("generation", &self.inner.generation.get())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Creates a runtime with the given limits.
    ///
    /// # Errors
    /// [`Error::EngineInit`] when the engine cannot be created (out of host memory).
    pub fn new(limits: Limits) -> Result<Runtime> {
        let watch = Arc::new(Watch::new());
        register_watch(&watch);
        let engine = Engine::new(&limits, &watch)?;
        Ok(Runtime {
            inner: Rc::new(RuntimeInner {
                limits: RefCell::new(limits),
                engine: RefCell::new(engine),
                watch,
                generation: Cell::new(0),
                spent: Cell::new(false),
                running: Cell::new(false),
            }),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.inner.limits.borrow().clone()
    }

    /// Replaces the limits. Memory and stack limits apply at once to the engine; time, output
    /// and job limits apply from the next run.
    pub fn set_limits(&self, limits: Limits) {
        {
            let engine = self.inner.engine.borrow();
            engine.heap.set_limit(limits.effective_memory());
            engine.rt.set_max_stack_size(limits.effective_stack());
        }
        *self.inner.limits.borrow_mut() = limits;
    }

    /// A handle that cancels runs of this runtime from any thread.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle(self.inner.watch.clone())
    }

    /// Bytes of engine heap in use now (all contexts of this runtime).
    pub fn heap_used(&self) -> usize {
        self.inner.engine.borrow().heap.used()
    }

    /// How many times the engine was replaced after a spent run.
    pub fn generation(&self) -> u64 {
        self.inner.generation.get()
    }

    /// True when the last run spent the engine, so that the next run on any context of this
    /// runtime starts on a fresh engine and everything guest code built up (globals it set,
    /// functions it defined, installed helpers) is gone; contexts keep only what the host
    /// gave them through their options, [`crate::Context::set_global`] and
    /// [`crate::Context::register_fn`].
    ///
    /// This is the decision the runtime itself makes, so ask it rather than guessing from the
    /// error: a run is spent by the memory, stack, output and job limits, by a timeout or a
    /// cancellation (unless [`crate::ContextOptions::keep_after_interrupt`] is set), and also
    /// by an allocation the engine refused even when guest code caught the error and the run
    /// succeeded.
    ///
    /// ```
    /// # fn main() -> sandvm::Result<()> {
    /// let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    /// let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    /// ctx.eval("globalThis.kept = 1")?;
    /// assert!(!rt.is_spent());
    /// assert_eq!(ctx.eval("function f() { return f() } f()"), Err(sandvm::Error::StackOverflow));
    /// assert!(rt.is_spent());
    /// assert_eq!(ctx.eval("typeof kept")?.display, "'undefined'");
    /// assert!(!rt.is_spent());
    /// # Ok(()) }
    /// ```
    pub fn is_spent(&self) -> bool {
        self.inner.spent.get()
    }

    /// Runs the garbage collector.
    pub fn run_gc(&self) {
        self.inner.engine.borrow().rt.run_gc();
    }

    pub(crate) fn watch(&self) -> &Arc<Watch> {
        &self.inner.watch
    }

    pub(crate) fn engine(&self) -> Ref<'_, Engine> {
        self.inner.engine.borrow()
    }

    /// Replaces a spent engine. Contexts notice the new generation and rebuild.
    pub(crate) fn refresh(&self) -> Result<()> {
        if !self.inner.spent.get() {
            return Ok(());
        }
        let limits = self.limits();
        let fresh = Engine::new(&limits, &self.inner.watch)?;
        *self.inner.engine.borrow_mut() = fresh;
        self.inner.generation.set(self.inner.generation.get() + 1);
        self.inner.spent.set(false);
        Ok(())
    }

    pub(crate) fn mark_spent(&self) {
        self.inner.spent.set(true);
    }

    /// Starts a run: arms the deadline, restarts the heap peak. Fails if a run is already in
    /// progress on this runtime (re-entrancy from a host function).
    pub(crate) fn begin_run(&self, limits: &Limits) -> Result<RunGuard<'_>> {
        if self.inner.running.replace(true) {
            return Err(Error::Reentrant { what: "a run on this runtime".into() });
        }
        {
            let engine = self.engine();
            engine.heap.begin_run();
            engine.rt.set_max_stack_size(stack_for_this_thread(limits.effective_stack()));
        }
        self.inner.watch.arm(limits);
        Ok(RunGuard { rt: self, start_ns: now_ns() })
    }
}

/// Lowest address of the calling thread's stack, looked up once per thread (glibc reads
/// /proc/self/maps for the main thread, which is far too slow to do on every run).
fn stack_low() -> Option<usize> {
    thread_local! {
        static LOW: Option<usize> = stack_low_uncached();
    }
    LOW.with(|l| *l)
}

#[cfg(target_os = "linux")]
fn stack_low_uncached() -> Option<usize> {
    // SAFETY: pthread_attr_t is a plain C struct; all-zero is a valid placeholder that
    // pthread_getattr_np overwrites.
    let mut attr: libc::pthread_attr_t = unsafe { std::mem::zeroed() };
    let mut addr: *mut libc::c_void = std::ptr::null_mut();
    let mut size: libc::size_t = 0;
    // SAFETY: `attr` is initialised by pthread_getattr_np for the current thread and destroyed
    // before returning; the out-pointers are valid locals.
    let ok = unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        rc == 0
    };
    ok.then_some(addr as usize)
}

#[cfg(not(target_os = "linux"))]
fn stack_low_uncached() -> Option<usize> {
    None
}

/// Room left on the calling thread's stack, in bytes, when the platform can tell.
fn stack_room() -> Option<usize> {
    let marker = 0u8;
    let sp = std::ptr::addr_of!(marker) as usize;
    sp.checked_sub(stack_low()?)
}

/// The engine stack limit for a run on this thread: the configured limit, but never more than
/// the thread has left minus a margin for host code (host functions, value rendering, building
/// the stack-overflow error itself). A limit larger than the real stack would let deep
/// recursion crash the process.
pub(crate) fn stack_for_this_thread(configured: usize) -> usize {
    match stack_room() {
        Some(room) => {
            let margin = (256 * 1024).max(room / 8);
            configured.min(room.saturating_sub(margin)).max(16 * 1024)
        }
        None => configured,
    }
}

/// The runtimes a guest thread of an [`crate::Executor`] watches: those made on that thread
/// (and, for a scope registered process-wide, those made anywhere in the process). Its
/// executor asks it whether a run is stuck past its deadline plus [`crate::grace_for`], and
/// cancels the runs of a cancelled job through it.
#[derive(Debug, Default)]
pub(crate) struct GuestScope {
    watches: Mutex<Vec<Weak<Watch>>>,
    cancelled: AtomicBool,
}

thread_local! {
    static THREAD_SCOPE: RefCell<Option<Arc<GuestScope>>> = const { RefCell::new(None) };
}

/// Scopes that watch every runtime of the process (see [`GuestScope::watch_process`]).
fn process_scopes() -> &'static Mutex<Vec<Weak<GuestScope>>> {
    static SCOPES: OnceLock<Mutex<Vec<Weak<GuestScope>>>> = OnceLock::new();
    SCOPES.get_or_init(|| Mutex::new(Vec::new()))
}

static PROCESS_SCOPES: AtomicU32 = AtomicU32::new(0);

impl GuestScope {
    /// Makes `scope` the scope of the calling thread: runtimes made on it from now on register.
    pub(crate) fn install(scope: &Arc<GuestScope>) {
        THREAD_SCOPE.with(|s| *s.borrow_mut() = Some(scope.clone()));
    }

    /// Also watches the runtimes made on any thread of the process from now on.
    pub(crate) fn watch_process(scope: &Arc<GuestScope>) {
        if let Ok(mut v) = process_scopes().lock() {
            v.retain(|s| s.strong_count() > 0);
            v.push(Arc::downgrade(scope));
            PROCESS_SCOPES.store(v.len() as u32, Relaxed);
        }
    }

    fn register(&self, w: &Arc<Watch>) {
        if let Ok(mut v) = self.watches.lock() {
            if v.len() >= 16 && v.len().is_power_of_two() {
                v.retain(|w| w.strong_count() > 0);
            }
            v.push(Arc::downgrade(w));
        }
        if self.cancelled.load(Relaxed) {
            w.cancel.store(true, Relaxed);
        }
    }

    fn each(&self, mut f: impl FnMut(&Watch)) {
        if let Ok(mut v) = self.watches.lock() {
            v.retain(|w| w.strong_count() > 0);
            v.iter().filter_map(Weak::upgrade).for_each(|w| f(&w));
        }
    }

    /// Cancels the run in progress (or the next run) of every watched runtime, and of every
    /// runtime made before [`GuestScope::begin_job`] is called again.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Relaxed);
        self.each(|w| w.cancel.store(true, Relaxed));
    }

    /// Starts a job: withdraws the cancellations of the previous one.
    pub(crate) fn begin_job(&self) {
        self.cancelled.store(false, Relaxed);
        self.each(|w| w.cancel.store(false, Relaxed));
    }

    /// True when a watched run is still going past its deadline plus [`crate::grace_for`] its
    /// timeout: it is stuck in a builtin the engine cannot interrupt.
    pub(crate) fn overdue(&self) -> bool {
        let now = now_ns();
        let mut stuck = false;
        self.each(|w| stuck |= now > w.hard_deadline.load(Relaxed));
        stuck
    }
}

fn register_watch(w: &Arc<Watch>) {
    THREAD_SCOPE.with(|s| {
        if let Some(scope) = s.borrow().as_ref() {
            scope.register(w);
        }
    });
    if PROCESS_SCOPES.load(Relaxed) > 0 {
        if let Ok(v) = process_scopes().lock() {
            v.iter().filter_map(Weak::upgrade).for_each(|s| s.register(w));
        }
    }
}

/// Ends a run when dropped (even on panic): disarms the deadline.
pub(crate) struct RunGuard<'a> {
    rt: &'a Runtime,
    pub(crate) start_ns: u64,
}

impl RunGuard<'_> {
    /// Wall-clock nanoseconds since the run started.
    pub(crate) fn elapsed_ns(&self) -> u64 {
        now_ns().saturating_sub(self.start_ns)
    }
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.rt.inner.watch.disarm();
        self.rt.inner.running.set(false);
    }
}
