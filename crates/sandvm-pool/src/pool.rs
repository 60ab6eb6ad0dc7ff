//! The pool: admission (quotas), fair scheduling, worker threads, the watchdog, shutdown.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use metrics::{counter, gauge, histogram};
use sandvm::{AbandonedThread, CacheKey, Report, Script, ScriptOptions, Stats};
use tokio::sync::oneshot;

use crate::config::{Isolation, PoolConfig, TenantConfig};
use crate::exec::{ExecSettings, Executor};
use crate::job::{Job, JobKind, Outcome, ScriptId};
use crate::stats::{names, PoolStats, TenantStats};
use crate::wire::{ExecJob, ExecKind, ExecResult, ScriptDef};
use crate::PoolError;

type Reply = oneshot::Sender<Result<Outcome, PoolError>>;
type Hook = Box<dyn Fn() + Send>;

/// How often the watchdog looks at running jobs.
const WATCHDOG_TICK: Duration = Duration::from_millis(5);

/// Locks a mutex, going on with the data if a panicking thread poisoned it (every critical
/// section here leaves the state consistent between statements that can panic).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// State shared by a job's handle, its queue entry and the worker running it.
pub(crate) struct JobShared {
    id: u64,
    tenant: Arc<str>,
    cancelled: AtomicBool,
    cancel_at: Mutex<Option<Instant>>,
    hook: Mutex<Option<Hook>>,
    pool: Weak<Inner>,
}

impl JobShared {
    /// Installs the way to stop the running job; runs it at once if the job was already
    /// cancelled.
    pub(crate) fn set_hook(&self, hook: Hook) {
        let mut h = lock(&self.hook);
        if self.cancelled.load(Relaxed) {
            hook();
        }
        *h = Some(hook);
    }

    pub(crate) fn clear_hook(&self) {
        *lock(&self.hook) = None;
    }

    fn cancel(&self) {
        self.cancelled.store(true, Relaxed);
        {
            let mut at = lock(&self.cancel_at);
            if at.is_none() {
                *at = Some(Instant::now());
            }
        }
        if let Some(h) = lock(&self.hook).as_ref() {
            h();
        }
        if let Some(inner) = self.pool.upgrade() {
            inner.cancel_queued(&self.tenant, self.id);
        }
    }
}

/// Cancels a job, queued or running, from any thread. Cheap to clone.
///
/// A queued job is removed at once and fails with [`PoolError::Cancelled`]. A running job
/// is interrupted at the guest's next interrupt check; if it is stuck in a long builtin, its
/// thread is abandoned (or its process killed) after the hard-deadline margin.
#[derive(Clone)]
pub struct Canceller(Arc<JobShared>);

impl std::fmt::Debug for Canceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canceller").field("job", &self.0.id).finish()
    }
}

impl Canceller {
    /// Requests cancellation; returns at once. Cancelling a finished job does nothing.
    pub fn cancel(&self) {
        self.0.cancel();
    }
}

/// A submitted job: await or wait for its result, or cancel it.
///
/// Dropping the handle (or the future of [`JobHandle::result`]) before the result arrived
/// cancels the job.
pub struct JobHandle {
    id: u64,
    rx: Option<oneshot::Receiver<Result<Outcome, PoolError>>>,
    canceller: Canceller,
}

impl std::fmt::Debug for JobHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandle").field("id", &self.id).finish()
    }
}

struct CancelOnDrop(Option<Canceller>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.cancel();
        }
    }
}

fn lost() -> PoolError {
    PoolError::Worker("the pool dropped the job".into())
}

impl JobHandle {
    /// The job's id, unique in the pool.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// A cloneable canceller for this job.
    pub fn canceller(&self) -> Canceller {
        self.canceller.clone()
    }

    /// Cancels the job (see [`Canceller::cancel`]).
    pub fn cancel(&self) {
        self.canceller.cancel();
    }

    /// Waits for the result.
    ///
    /// # Errors
    /// [`PoolError::Cancelled`], [`PoolError::ShuttingDown`] (cancelled by shutdown),
    /// [`PoolError::WorkerCrashed`], [`PoolError::Protocol`] or [`PoolError::Worker`].
    /// Guest errors and limits come back as an `Ok` outcome with an error report.
    pub async fn result(mut self) -> Result<Outcome, PoolError> {
        let Some(rx) = self.rx.take() else { return Err(lost()) };
        let mut guard = CancelOnDrop(Some(self.canceller.clone()));
        let r = rx.await;
        guard.0 = None;
        r.unwrap_or_else(|_| Err(lost()))
    }

    /// Blocks the calling thread until the result arrives. Must not be called from inside
    /// an async runtime (it panics there, like tokio's `blocking_recv`); use
    /// [`JobHandle::result`].
    ///
    /// # Errors
    /// As [`JobHandle::result`].
    pub fn wait(mut self) -> Result<Outcome, PoolError> {
        let Some(rx) = self.rx.take() else { return Err(lost()) };
        rx.blocking_recv().unwrap_or_else(|_| Err(lost()))
    }
}

impl Drop for JobHandle {
    fn drop(&mut self) {
        if self.rx.is_some() {
            self.canceller.cancel();
        }
    }
}

/// A script registered for a tenant.
pub(crate) struct Registered {
    script: Script,
    pub(crate) def: ScriptDef,
}

struct Queued {
    exec: ExecJob,
    registered: Option<Arc<Registered>>,
    shared: Arc<JobShared>,
    reply: Reply,
    enqueued: Instant,
    affinity: Option<usize>,
    memory: usize,
    hard: Option<Duration>,
}

/// A job handed to a worker.
pub(crate) struct Taken {
    pub(crate) exec: ExecJob,
    pub(crate) registered: Option<Arc<Registered>>,
    pub(crate) shared: Arc<JobShared>,
}

impl Taken {
    /// The compiled script of a `Script` job, for thread workers.
    fn local_script(&self) -> Option<Script> {
        self.registered.as_ref().map(|r| r.script.clone())
    }
}

/// Why the watchdog (or shutdown) killed a worker process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillReason {
    Deadline,
    Cancel,
}

struct Running {
    shared: Arc<JobShared>,
    reply: Reply,
    tenant: Arc<str>,
    memory: usize,
    hard_deadline: Option<Instant>,
    started: Instant,
    queue_ms: f64,
}

#[derive(Default)]
pub(crate) struct Slot {
    epoch: u64,
    running: Option<Running>,
    pub(crate) pid: Option<u32>,
    pub(crate) kill: Option<KillReason>,
    pub(crate) spawn_deadline: Option<Instant>,
}

struct TenantState {
    config: TenantConfig,
    queue: VecDeque<Queued>,
    running: usize,
    mem_running: usize,
    running_workers: HashMap<usize, usize>,
    idle_heap: HashMap<usize, usize>,
    tokens: f64,
    last_refill: Instant,
    window_start: Instant,
    cpu_window: f64,
    scripts: HashMap<u64, Arc<Registered>>,
    /// The config's importable modules, shared with module jobs.
    modules: Arc<std::collections::BTreeMap<String, String>>,
    stats: TenantStats,
}

impl TenantState {
    fn new(config: TenantConfig) -> TenantState {
        let now = Instant::now();
        let tokens = config.rate.map(|r| f64::from(r.burst)).unwrap_or(0.0);
        let modules = Arc::new(config.modules.clone());
        TenantState {
            modules,
            config,
            queue: VecDeque::new(),
            running: 0,
            mem_running: 0,
            running_workers: HashMap::new(),
            idle_heap: HashMap::new(),
            tokens,
            last_refill: now,
            window_start: now,
            cpu_window: 0.0,
            scripts: HashMap::new(),
            stats: TenantStats::default(),
        }
    }

    fn roll_window(&mut self, now: Instant) {
        if let Some(b) = self.config.cpu_budget {
            if b.window.is_zero() {
                return;
            }
            while now.duration_since(self.window_start) >= b.window {
                self.window_start += b.window;
                self.cpu_window = 0.0;
            }
        }
    }

    fn idle_heap_excluding(&self, w: usize) -> usize {
        self.idle_heap.iter().filter(|(k, _)| **k != w && !self.running_workers.contains_key(k)).map(|(_, v)| *v).sum()
    }

    fn memory_in_use(&self) -> usize {
        self.mem_running + self.idle_heap_excluding(usize::MAX)
    }
}

struct State {
    accepting: bool,
    stopping: bool,
    tenants: HashMap<Arc<str>, TenantState>,
    ring: Vec<Arc<str>>,
    cursor: usize,
    queued_total: usize,
    running_total: usize,
    stats: PoolStats,
}

impl State {
    /// Picks the next job for worker `w`: tenants in round-robin order, each tenant's jobs
    /// in FIFO order (skipping jobs pinned to another worker), within concurrency and memory
    /// quotas.
    fn pick(&mut self, w: usize) -> Option<Queued> {
        let n = self.ring.len();
        for i in 0..n {
            let idx = (self.cursor + i) % n;
            let name = self.ring[idx].clone();
            let Some(ts) = self.tenants.get_mut(&name) else { continue };
            if ts.queue.is_empty() || ts.running >= ts.config.max_concurrency.max(1) {
                continue;
            }
            let Some(pos) = ts.queue.iter().position(|q| q.affinity.is_none_or(|a| a == w)) else { continue };
            let mem = ts.queue[pos].memory;
            if ts.running > 0 && ts.mem_running + ts.idle_heap_excluding(w) + mem > ts.config.memory_cap {
                continue;
            }
            let Some(q) = ts.queue.remove(pos) else { continue };
            ts.running += 1;
            ts.mem_running += mem;
            *ts.running_workers.entry(w).or_default() += 1;
            ts.stats.queued = ts.queue.len();
            ts.stats.running = ts.running;
            self.queued_total -= 1;
            self.running_total += 1;
            self.cursor = (idx + 1) % n;
            return Some(q);
        }
        None
    }
}

pub(crate) struct Inner {
    pub(crate) config: PoolConfig,
    state: Mutex<State>,
    work_cv: Condvar,
    idle_cv: Condvar,
    pub(crate) slots: Vec<Mutex<Slot>>,
    next_id: AtomicU64,
    pub(crate) cache_key: CacheKey,
    pub(crate) key_bytes: [u8; 32],
    threads: Mutex<HashMap<usize, JoinHandle<()>>>,
    watchdog: Mutex<Option<JoinHandle<()>>>,
    /// Jobs whose thread was abandoned and is still running, by job id. Each entry holds the
    /// thread's [`AbandonedThread`] token; the thread removes its entry when it ends.
    stuck: Mutex<HashMap<u64, Stuck>>,
}

/// A thread abandoned at a hard deadline (thread mode) that has not ended yet.
struct Stuck {
    tenant: Arc<str>,
    since: Instant,
    _token: AbandonedThread,
}

/// A job whose worker thread was abandoned at its hard deadline and is still running (a
/// guest stuck in one long builtin); see [`ShutdownReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbandonedJob {
    /// The job's id.
    pub job_id: u64,
    /// The job's tenant.
    pub tenant: String,
    /// How long ago the thread was abandoned.
    pub abandoned_for: Duration,
}

/// What [`Pool::shutdown`] left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Jobs whose threads were still stuck when the pool stopped (thread mode; in process
    /// mode stuck workers are killed, never abandoned), by job id. They end with the process.
    pub abandoned: Vec<AbandonedJob>,
    /// Worker threads that had not ended when shutdown stopped waiting for them (detached).
    pub unjoined_workers: usize,
}

/// A pool of workers running jobs of many tenants. See the crate documentation.
pub struct Pool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

fn quota(tenant: &str, reason: &str, retry_after: Option<Duration>) -> PoolError {
    PoolError::QuotaExceeded { tenant: tenant.to_string(), reason: reason.to_string(), retry_after }
}

impl Pool {
    /// Starts a pool: its workers (threads, or child processes started at once), and its
    /// watchdog.
    ///
    /// # Errors
    /// [`PoolError::Unsupported`] for process isolation off Linux; [`PoolError::Worker`]
    /// when a thread cannot be started or no random key can be made.
    pub fn new(mut config: PoolConfig) -> Result<Pool, PoolError> {
        config.workers = config.workers.max(1);
        if config.isolation == Isolation::Process && !cfg!(target_os = "linux") {
            return Err(PoolError::Unsupported("process isolation needs Linux".into()));
        }
        let mut key_bytes = [0u8; 32];
        getrandom::fill(&mut key_bytes).map_err(|e| PoolError::Worker(format!("no random source: {e}")))?;
        let cache_key = CacheKey::new(key_bytes);
        let workers = config.workers;
        let isolation = config.isolation;
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                accepting: true,
                stopping: false,
                tenants: HashMap::new(),
                ring: Vec::new(),
                cursor: 0,
                queued_total: 0,
                running_total: 0,
                stats: PoolStats { isolation, workers, accepting: true, ..Default::default() },
            }),
            config,
            work_cv: Condvar::new(),
            idle_cv: Condvar::new(),
            slots: (0..workers).map(|_| Mutex::new(Slot::default())).collect(),
            next_id: AtomicU64::new(1),
            cache_key,
            key_bytes,
            threads: Mutex::new(HashMap::new()),
            watchdog: Mutex::new(None),
            stuck: Mutex::new(HashMap::new()),
        });
        for w in 0..workers {
            if let Err(e) = inner.start_worker(w, 0) {
                inner.stop_now();
                return Err(e);
            }
        }
        let wd = inner.clone();
        let handle = std::thread::Builder::new()
            .name("sandvm-watchdog".into())
            .spawn(move || wd.watchdog())
            .map_err(|e| PoolError::Worker(format!("cannot start the watchdog: {e}")))?;
        *lock(&inner.watchdog) = Some(handle);
        Ok(Pool { inner })
    }

    /// The configuration in force.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// Adds a tenant, or replaces the quotas of an existing one (its queued jobs stay).
    pub fn add_tenant(&self, name: &str, config: TenantConfig) {
        let mut st = lock(&self.inner.state);
        let key: Arc<str> = name.into();
        match st.tenants.get_mut(&key) {
            Some(ts) => {
                ts.modules = Arc::new(config.modules.clone());
                ts.config = config;
            }
            None => {
                st.tenants.insert(key.clone(), TenantState::new(config));
                st.ring.push(key);
            }
        }
    }

    /// Compiles `source` once and registers it for `tenant`; jobs of that tenant can then run
    /// it with [`Job::script`]. Compiling happens on the calling thread.
    ///
    /// # Errors
    /// [`PoolError::UnknownTenant`]; [`PoolError::InvalidJob`] when the source does not
    /// compile (the message is the syntax error).
    pub fn register_script(&self, tenant: &str, source: &str, options: ScriptOptions) -> Result<ScriptId, PoolError> {
        let script = Script::with_options(source, options.clone()).map_err(|e| PoolError::InvalidJob(e.to_string()))?;
        let cached = if self.inner.config.isolation == Isolation::Process {
            script.cached_data_with(&self.inner.cache_key)
        } else {
            Vec::new()
        };
        let def = ScriptDef {
            source: source.into(),
            filename: options.filename,
            strict: options.strict,
            cached: Arc::new(cached),
        };
        let id = self.inner.next_id.fetch_add(1, Relaxed);
        let mut st = lock(&self.inner.state);
        let ts = self.inner.tenant_mut(&mut st, tenant)?;
        ts.scripts.insert(id, Arc::new(Registered { script, def }));
        Ok(ScriptId(id))
    }

    /// Forgets a registered script (jobs already queued with it still run). Returns whether
    /// it was registered.
    pub fn unregister_script(&self, tenant: &str, id: ScriptId) -> bool {
        let mut st = lock(&self.inner.state);
        st.tenants.get_mut(tenant).is_some_and(|ts| ts.scripts.remove(&id.0).is_some())
    }

    /// Queues a job and returns its handle at once.
    ///
    /// # Errors
    /// Checked before anything is queued: [`PoolError::ShuttingDown`],
    /// [`PoolError::UnknownTenant`], [`PoolError::UnknownScript`], [`PoolError::InvalidJob`]
    /// (bad globals, unknown capability), [`PoolError::Busy`] (pool queue full),
    /// [`PoolError::QuotaExceeded`] (`max_queued`, `rate`, `cpu_budget`, `memory_cap`).
    pub fn submit(&self, tenant: &str, job: Job) -> Result<JobHandle, PoolError> {
        let inner = &self.inner;
        let r = inner.submit(tenant, job);
        if let Err(e) = &r {
            let reason = match e {
                PoolError::QuotaExceeded { reason, .. } => reason.clone(),
                other => other.kind().to_string(),
            };
            counter!(names::REJECTIONS, "tenant" => tenant.to_string(), "reason" => reason.clone()).increment(1);
            let mut st = lock(&inner.state);
            if let Some(ts) = st.tenants.get_mut(tenant) {
                *ts.stats.rejected.entry(reason).or_default() += 1;
            }
        }
        r
    }

    /// Runs a job and waits for its result (cancelled if the future is dropped).
    ///
    /// # Errors
    /// As [`Pool::submit`], then as [`JobHandle::result`].
    pub async fn execute(&self, tenant: &str, job: Job) -> Result<Outcome, PoolError> {
        self.submit(tenant, job)?.result().await
    }

    /// Runs a job and blocks until its result. Not for use inside an async runtime.
    ///
    /// # Errors
    /// As [`Pool::execute`].
    pub fn execute_blocking(&self, tenant: &str, job: Job) -> Result<Outcome, PoolError> {
        self.submit(tenant, job)?.wait()
    }

    /// A snapshot of counters and per-tenant figures.
    pub fn stats(&self) -> PoolStats {
        let st = lock(&self.inner.state);
        let mut s = st.stats.clone();
        s.accepting = st.accepting;
        s.queued = st.queued_total;
        s.running = st.running_total;
        s.stuck_threads = lock(&self.inner.stuck).len() as u64;
        s.process_abandoned_threads = sandvm::abandoned_threads();
        s.process_abandoned_total = sandvm::total_abandoned_threads();
        s.max_abandoned_threads = sandvm::max_abandoned_threads();
        s.worker_pids = self.inner.slots.iter().map(|slot| lock(slot).pid).collect();
        let now = Instant::now();
        for (name, ts) in &st.tenants {
            let mut t = ts.stats.clone();
            t.queued = ts.queue.len();
            t.running = ts.running;
            t.memory_in_use = ts.memory_in_use();
            let fresh = ts.config.cpu_budget.is_none_or(|b| now.duration_since(ts.window_start) < b.window);
            t.cpu_ms_window = if fresh { ts.cpu_window } else { 0.0 };
            s.tenants.insert(name.to_string(), t);
        }
        s
    }

    /// Stops accepting jobs, lets queued and running jobs finish for up to
    /// [`PoolConfig::grace_period`], then cancels what is left (queued jobs fail with
    /// [`PoolError::ShuttingDown`], running ones are interrupted and, past the hard-deadline
    /// margin, abandoned or killed), and stops the workers. Blocks the calling thread, at
    /// most for the grace period plus about three hard-deadline margins: a thread stuck in a
    /// guest is abandoned, never waited for. Returns what was left behind.
    pub fn shutdown_blocking(&self) -> ShutdownReport {
        self.inner.shutdown(self.inner.config.grace_period)
    }

    /// As [`Pool::shutdown_blocking`], without blocking the async runtime (the waiting runs
    /// on a helper thread).
    pub async fn shutdown(&self) -> ShutdownReport {
        self.shutdown_within(self.inner.config.grace_period).await
    }

    /// As [`Pool::shutdown`], with `grace` instead of [`PoolConfig::grace_period`] (a
    /// server that already spent part of its drain time on HTTP requests passes the rest).
    pub async fn shutdown_within(&self, grace: Duration) -> ShutdownReport {
        let (tx, rx) = oneshot::channel();
        let inner = self.inner.clone();
        let spawned = std::thread::Builder::new().name("sandvm-shutdown".into()).spawn(move || {
            let _ = tx.send(inner.shutdown(grace));
        });
        match spawned {
            Ok(_) => rx.await.unwrap_or_default(),
            Err(_) => self.inner.shutdown(Duration::ZERO),
        }
    }

    /// Jobs whose worker threads were abandoned at their hard deadline and are still running
    /// (thread mode), by job id.
    pub fn abandoned_jobs(&self) -> Vec<AbandonedJob> {
        self.inner.abandoned_jobs()
    }
}

impl Inner {
    fn abandoned_jobs(&self) -> Vec<AbandonedJob> {
        let now = Instant::now();
        let mut v: Vec<AbandonedJob> = lock(&self.stuck)
            .iter()
            .map(|(id, s)| AbandonedJob {
                job_id: *id,
                tenant: s.tenant.to_string(),
                abandoned_for: now.saturating_duration_since(s.since),
            })
            .collect();
        v.sort_by_key(|a| a.job_id);
        v
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.inner.stop_now();
    }
}

fn outcome_kind(r: &Result<Outcome, PoolError>) -> String {
    match r {
        Ok(o) => o.error_kind().unwrap_or("ok").to_string(),
        Err(e) => e.kind().to_string(),
    }
}

/// The result of a job ended at its hard deadline. Its thread was busy in the guest all along,
/// so the job is charged its wall-clock time as CPU time (against the tenant's CPU budget).
fn timeout_result(id: u64, wall: Duration) -> ExecResult {
    let ms = wall.as_secs_f64() * 1000.0;
    let stats = Stats { wall_ms: ms, cpu_ms: ms, ..Default::default() };
    ExecResult {
        id,
        report: Report::new(&Err(sandvm::Error::Timeout), Vec::new(), &stats),
        stats,
        heap_after: 0,
        recycled: Vec::new(),
    }
}

impl Inner {
    fn tenant_mut<'a>(&self, st: &'a mut State, tenant: &str) -> Result<&'a mut TenantState, PoolError> {
        if !st.tenants.contains_key(tenant) {
            let Some(cfg) = self.config.default_tenant.clone() else {
                return Err(PoolError::UnknownTenant(tenant.to_string()));
            };
            let key: Arc<str> = tenant.into();
            st.tenants.insert(key.clone(), TenantState::new(cfg));
            st.ring.push(key);
        }
        st.tenants.get_mut(tenant).ok_or_else(|| PoolError::UnknownTenant(tenant.to_string()))
    }

    fn exec_settings(&self) -> ExecSettings {
        ExecSettings {
            test_hooks: self.config.test_hooks_enabled(),
            in_process: self.config.isolation == Isolation::Process,
            recycle_after_jobs: self.config.recycle_after_jobs,
            recycle_heap_growth: self.config.recycle_heap_growth as u64,
            warm_contexts: self.config.warm_contexts,
            max_tenants: self.config.max_tenants_per_worker,
        }
    }

    fn start_worker(self: &Arc<Self>, w: usize, epoch: u64) -> Result<(), PoolError> {
        let inner = self.clone();
        let builder = std::thread::Builder::new().name(format!("sandvm-worker-{w}"));
        let spawned = match self.config.isolation {
            Isolation::Thread => {
                builder.stack_size(sandvm::GUEST_THREAD_STACK).spawn(move || inner.thread_worker(w, epoch))
            }
            Isolation::Process => builder.spawn(move || crate::process::driver(inner, w)),
        };
        let handle = spawned.map_err(|e| PoolError::Worker(format!("cannot start worker {w}: {e}")))?;
        // A replaced handle belongs to an abandoned thread: dropping it detaches it.
        lock(&self.threads).insert(w, handle);
        Ok(())
    }

    fn submit(self: &Arc<Self>, tenant: &str, job: Job) -> Result<JobHandle, PoolError> {
        let Job { kind, limits, globals, mut options, persistent } = job;
        if let Some(g) = &globals {
            if !g.is_object() && !g.is_null() {
                return Err(PoolError::InvalidJob("globals must be a JSON object".into()));
            }
        }
        for name in &options.capabilities {
            sandvm::Capabilities::none().grant(name).map_err(|e| PoolError::InvalidJob(e.to_string()))?;
        }
        // One order for one set, so equal sets share warm contexts.
        options.capabilities.sort();
        options.capabilities.dedup();
        let mut st = lock(&self.state);
        if !st.accepting {
            return Err(PoolError::ShuttingDown);
        }
        if self.config.isolation == Isolation::Thread {
            if let Err(sandvm::Error::Saturated { abandoned, max }) = sandvm::check_capacity() {
                return Err(PoolError::Saturated { abandoned, max });
            }
        }
        let queued_total = st.queued_total;
        let ts = self.tenant_mut(&mut st, tenant)?;
        let mut registered = None;
        let exec_kind = match kind {
            JobKind::Source { source, filename } => ExecKind::Source { source, filename },
            JobKind::Script(ScriptId(id)) => {
                let reg = ts
                    .scripts
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| PoolError::UnknownScript { tenant: tenant.to_string(), id })?;
                registered = Some(reg);
                ExecKind::Script { id, def: None }
            }
            JobKind::Module { source, name } => ExecKind::Module { source, name, modules: ts.modules.clone() },
            JobKind::Call { function, args } => {
                if persistent.is_none() {
                    return Err(PoolError::InvalidJob("a call job needs a persistent context".into()));
                }
                ExecKind::Call { function, args }
            }
            JobKind::Template(t) => ExecKind::Template(t),
            #[cfg(feature = "test-faults")]
            JobKind::Fault(f) => {
                if !self.config.test_hooks {
                    return Err(PoolError::InvalidJob("test hooks are disabled".into()));
                }
                ExecKind::Fault(f)
            }
        };
        let limits = ts.config.effective_limits(limits.as_ref());
        if limits.memory > ts.config.memory_cap {
            return Err(quota(tenant, "memory_cap", None));
        }
        if queued_total >= self.config.queue_capacity {
            return Err(PoolError::Busy);
        }
        if ts.queue.len() >= ts.config.max_queued {
            return Err(quota(tenant, "max_queued", None));
        }
        let now = Instant::now();
        ts.roll_window(now);
        if let Some(b) = ts.config.cpu_budget {
            if ts.cpu_window >= b.cpu_ms as f64 {
                let end = ts.window_start + b.window;
                return Err(quota(tenant, "cpu_budget", Some(end.saturating_duration_since(now))));
            }
        }
        if let Some(r) = ts.config.rate {
            let elapsed = now.duration_since(ts.last_refill).as_secs_f64();
            ts.tokens = (ts.tokens + elapsed * r.per_second).min(f64::from(r.burst));
            ts.last_refill = now;
            if ts.tokens < 1.0 {
                let wait = if r.per_second > 0.0 {
                    Some(Duration::from_secs_f64((1.0 - ts.tokens) / r.per_second))
                } else {
                    None
                };
                return Err(quota(tenant, "rate", wait));
            }
            ts.tokens -= 1.0;
        }
        let id = self.next_id.fetch_add(1, Relaxed);
        let tenant_key: Arc<str> = tenant.into();
        let affinity = persistent.as_ref().map(|name| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            tenant.hash(&mut h);
            name.hash(&mut h);
            (h.finish() % self.config.workers as u64) as usize
        });
        let shared = Arc::new(JobShared {
            id,
            tenant: tenant_key.clone(),
            cancelled: AtomicBool::new(false),
            cancel_at: Mutex::new(None),
            hook: Mutex::new(None),
            pool: Arc::downgrade(self),
        });
        let (tx, rx) = oneshot::channel();
        let hard = limits.timeout.map(|t| t.saturating_add(self.config.hard_deadline_margin));
        let memory = limits.memory;
        let exec =
            ExecJob { id, tenant: tenant_key, kind: exec_kind, limits: limits.clone(), globals, options, persistent };
        ts.queue.push_back(Queued {
            exec,
            registered,
            shared: shared.clone(),
            reply: tx,
            enqueued: now,
            affinity,
            memory,
            hard,
        });
        ts.stats.submitted += 1;
        ts.stats.queued = ts.queue.len();
        st.queued_total += 1;
        gauge!(names::QUEUED).set(st.queued_total as f64);
        drop(st);
        self.work_cv.notify_all();
        Ok(JobHandle { id, rx: Some(rx), canceller: Canceller(shared) })
    }

    fn cancel_queued(&self, tenant: &str, id: u64) {
        let mut st = lock(&self.state);
        let Some(ts) = st.tenants.get_mut(tenant) else { return };
        let Some(pos) = ts.queue.iter().position(|q| q.exec.id == id) else { return };
        let Some(q) = ts.queue.remove(pos) else { return };
        ts.stats.queued = ts.queue.len();
        *ts.stats.outcomes.entry("cancelled".into()).or_default() += 1;
        st.queued_total -= 1;
        *st.stats.outcomes.entry("cancelled".into()).or_default() += 1;
        drop(st);
        self.idle_cv.notify_all();
        counter!(names::EXECUTIONS, "tenant" => tenant.to_string(), "outcome" => "cancelled").increment(1);
        let _ = q.reply.send(Err(PoolError::Cancelled));
    }

    /// Blocks until a job for worker `w` is available; `None` when the pool stops.
    pub(crate) fn next_job(&self, w: usize, epoch: u64) -> Option<Taken> {
        let mut st = lock(&self.state);
        loop {
            if st.stopping {
                return None;
            }
            if let Some(q) = st.pick(w) {
                let now = Instant::now();
                let queue_ms = now.duration_since(q.enqueued).as_secs_f64() * 1000.0;
                st.stats.queue_wait_ms_sum += queue_ms;
                gauge!(names::QUEUED).set(st.queued_total as f64);
                let mut slot = lock(&self.slots[w]);
                if slot.epoch != epoch {
                    // This thread was abandoned; it must not take work. Put the job back.
                    drop(slot);
                    if let Some(ts) = st.tenants.get_mut(&q.exec.tenant) {
                        ts.running -= 1;
                        ts.mem_running -= q.memory;
                        if let Some(c) = ts.running_workers.get_mut(&w) {
                            *c -= 1;
                            if *c == 0 {
                                ts.running_workers.remove(&w);
                            }
                        }
                        ts.queue.push_front(q);
                    }
                    st.queued_total += 1;
                    st.running_total -= 1;
                    return None;
                }
                histogram!(names::QUEUE_WAIT, "tenant" => q.exec.tenant.to_string()).record(queue_ms / 1000.0);
                slot.kill = None;
                slot.running = Some(Running {
                    shared: q.shared.clone(),
                    reply: q.reply,
                    tenant: q.exec.tenant.clone(),
                    memory: q.memory,
                    hard_deadline: q.hard.map(|h| now + h),
                    started: now,
                    queue_ms,
                });
                return Some(Taken { exec: q.exec, registered: q.registered, shared: q.shared });
            }
            st = self.work_cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Delivers the result of the job running on worker `w`. False when the worker was
    /// abandoned meanwhile (its job was already answered).
    pub(crate) fn complete(&self, w: usize, epoch: u64, result: Result<ExecResult, PoolError>) -> bool {
        let running = {
            let mut slot = lock(&self.slots[w]);
            if slot.epoch != epoch {
                return false;
            }
            slot.running.take()
        };
        if let Some(r) = running {
            self.finish(w, r, result);
        }
        true
    }

    fn finish(&self, w: usize, r: Running, result: Result<ExecResult, PoolError>) {
        let wall = r.started.elapsed();
        let mut recycled = Vec::new();
        let mut heap_after = None;
        let outcome = match result {
            Ok(res) => {
                recycled = res.recycled;
                heap_after = Some(res.heap_after as usize);
                let cancelled = res.report.error.as_ref().is_some_and(|e| e.kind == "cancelled");
                if cancelled {
                    Err(PoolError::Cancelled)
                } else {
                    Ok(Outcome {
                        job_id: res.id,
                        tenant: r.tenant.to_string(),
                        worker: w,
                        report: res.report,
                        stats: res.stats,
                        queue_ms: r.queue_ms,
                    })
                }
            }
            Err(e) => Err(e),
        };
        let kind = outcome_kind(&outcome);
        let tenant = r.tenant.to_string();
        let (cpu_ms, heap_peak) = match &outcome {
            Ok(o) => (o.stats.cpu_ms, o.stats.heap_peak_bytes),
            Err(_) => (0.0, 0),
        };
        {
            let mut st = lock(&self.state);
            st.running_total = st.running_total.saturating_sub(1);
            *st.stats.outcomes.entry(kind.clone()).or_default() += 1;
            st.stats.run_ms_sum += wall.as_secs_f64() * 1000.0;
            st.stats.runs += 1;
            st.stats.recycled_runtimes += recycled.len() as u64;
            let now = Instant::now();
            if let Some(ts) = st.tenants.get_mut(&r.tenant) {
                ts.running = ts.running.saturating_sub(1);
                ts.mem_running = ts.mem_running.saturating_sub(r.memory);
                if let Some(c) = ts.running_workers.get_mut(&w) {
                    *c -= 1;
                    if *c == 0 {
                        ts.running_workers.remove(&w);
                    }
                }
                match heap_after {
                    Some(h) => {
                        ts.idle_heap.insert(w, h);
                    }
                    None => {
                        ts.idle_heap.remove(&w);
                    }
                }
                ts.roll_window(now);
                ts.cpu_window += cpu_ms;
                ts.stats.cpu_ms_total += cpu_ms;
                ts.stats.heap_peak_max = ts.stats.heap_peak_max.max(heap_peak);
                ts.stats.running = ts.running;
                *ts.stats.outcomes.entry(kind.clone()).or_default() += 1;
                for (_, reason) in &recycled {
                    *ts.stats.recycled.entry(reason.clone()).or_default() += 1;
                }
            }
        }
        self.work_cv.notify_all();
        self.idle_cv.notify_all();
        counter!(names::EXECUTIONS, "tenant" => tenant.clone(), "outcome" => kind).increment(1);
        histogram!(names::RUN_TIME, "tenant" => tenant.clone()).record(wall.as_secs_f64());
        if outcome.is_ok() {
            histogram!(names::CPU_MS, "tenant" => tenant.clone()).record(cpu_ms);
            histogram!(names::HEAP_PEAK, "tenant" => tenant.clone()).record(heap_peak as f64);
        }
        for (t, reason) in recycled {
            counter!(names::RECYCLED, "tenant" => t, "reason" => reason).increment(1);
        }
        let _ = r.reply.send(outcome);
    }

    pub(crate) fn count_worker_event(&self, killed: Option<KillReason>) {
        let mut st = lock(&self.state);
        match killed {
            Some(reason) => {
                st.stats.killed_workers += 1;
                let label = if reason == KillReason::Deadline { "deadline" } else { "cancel" };
                counter!(names::KILLED, "reason" => label).increment(1);
            }
            None => {
                st.stats.crashed_workers += 1;
                counter!(names::CRASHED).increment(1);
            }
        }
    }

    pub(crate) fn count_worker_start(&self) {
        lock(&self.state).stats.worker_starts += 1;
    }

    pub(crate) fn stopping(&self) -> bool {
        lock(&self.state).stopping
    }

    /// The body of a thread worker.
    fn thread_worker(self: Arc<Self>, w: usize, epoch: u64) {
        let mut exec = Executor::new(self.exec_settings(), None);
        while let Some(t) = self.next_job(w, epoch) {
            let job_id = t.exec.id;
            let shared = t.shared.clone();
            let local = t.local_script();
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                exec.run(t.exec, local, &mut |h| {
                    if let Some(h) = h {
                        shared.set_hook(Box::new(move || h.cancel()));
                    }
                })
            }));
            shared.clear_hook();
            let result = match run {
                Ok(r) => Ok(r),
                Err(_) => {
                    exec = Executor::new(self.exec_settings(), None);
                    Err(PoolError::Worker("the worker panicked".into()))
                }
            };
            if !self.complete(w, epoch, result) {
                // Abandoned by the watchdog; a replacement has taken the slot. Ending now:
                // drop this thread's abandoned-thread token.
                lock(&self.stuck).remove(&job_id);
                return;
            }
            exec.maintain();
        }
    }

    fn watchdog(self: Arc<Self>) {
        loop {
            {
                let st = lock(&self.state);
                if st.stopping && st.running_total == 0 {
                    return;
                }
            }
            std::thread::sleep(WATCHDOG_TICK);
            let now = Instant::now();
            for w in 0..self.slots.len() {
                let mut slot = lock(&self.slots[w]);
                if let (Some(d), Some(pid)) = (slot.spawn_deadline, slot.pid) {
                    if now >= d {
                        slot.spawn_deadline = None;
                        crate::process::kill(pid);
                    }
                }
                let Some(r) = slot.running.as_ref() else { continue };
                let cancel_deadline = lock(&r.shared.cancel_at).map(|t| t + self.config.hard_deadline_margin);
                let reason = match (r.hard_deadline, cancel_deadline) {
                    (_, Some(c)) if c <= now => KillReason::Cancel,
                    (Some(h), _) if h <= now => KillReason::Deadline,
                    _ => continue,
                };
                match self.config.isolation {
                    Isolation::Thread => {
                        let Some(r) = slot.running.take() else { continue };
                        slot.epoch += 1;
                        let epoch = slot.epoch;
                        // Counted before the slot is released, so that a thread ending right
                        // now finds its entry to remove.
                        let stuck = Stuck { tenant: r.tenant.clone(), since: now, _token: AbandonedThread::new() };
                        lock(&self.stuck).insert(r.shared.id, stuck);
                        drop(slot);
                        lock(&self.state).stats.abandoned_threads += 1;
                        counter!(names::ABANDONED).increment(1);
                        let id = r.shared.id;
                        let wall = r.started.elapsed();
                        let result = match reason {
                            KillReason::Deadline => Ok(timeout_result(id, wall)),
                            KillReason::Cancel => Err(PoolError::Cancelled),
                        };
                        self.finish(w, r, result);
                        if let Err(e) = self.start_worker(w, epoch) {
                            eprintln!("sandvm-pool: cannot replace worker {w}: {e}");
                        }
                    }
                    Isolation::Process => {
                        if slot.kill.is_none() {
                            slot.kill = Some(reason);
                            if let Some(pid) = slot.pid {
                                crate::process::kill(pid);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Fails every queued job with `err`.
    fn drain_queues(&self, err: &PoolError) {
        let mut failed = Vec::new();
        {
            let mut st = lock(&self.state);
            for ts in st.tenants.values_mut() {
                failed.extend(ts.queue.drain(..).map(|q| (q.exec.tenant.clone(), q.reply)));
                ts.stats.queued = 0;
            }
            st.queued_total = 0;
        }
        for (tenant, reply) in failed {
            counter!(names::EXECUTIONS, "tenant" => tenant.to_string(), "outcome" => err.kind()).increment(1);
            let _ = reply.send(Err(err.clone()));
        }
    }

    fn cancel_running(&self) {
        let running: Vec<Arc<JobShared>> =
            self.slots.iter().filter_map(|s| lock(s).running.as_ref().map(|r| r.shared.clone())).collect();
        for s in running {
            s.cancelled.store(true, Relaxed);
            {
                let mut at = lock(&s.cancel_at);
                if at.is_none() {
                    *at = Some(Instant::now());
                }
            }
            if let Some(h) = lock(&s.hook).as_ref() {
                h();
            }
        }
    }

    /// Stops at once without waiting (used on drop).
    fn stop_now(&self) {
        {
            let mut st = lock(&self.state);
            st.accepting = false;
        }
        self.drain_queues(&PoolError::ShuttingDown);
        self.cancel_running();
        lock(&self.state).stopping = true;
        self.work_cv.notify_all();
    }

    fn shutdown(&self, grace: Duration) -> ShutdownReport {
        lock(&self.state).accepting = false;
        let deadline = Instant::now() + grace;
        self.wait_idle(deadline, true);
        self.drain_queues(&PoolError::ShuttingDown);
        self.cancel_running();
        // Running jobs stop at their next interrupt check, or the watchdog ends them after
        // the margin.
        self.wait_idle(Instant::now() + self.config.hard_deadline_margin * 2 + Duration::from_millis(200), false);
        lock(&self.state).stopping = true;
        self.work_cv.notify_all();
        // Idle workers see `stopping` at once; one still in a job (a stuck guest the watchdog
        // has not abandoned yet) is left behind rather than waited for.
        let join_by = Instant::now() + self.config.hard_deadline_margin + Duration::from_millis(200);
        let threads: Vec<JoinHandle<()>> = lock(&self.threads).drain().map(|(_, h)| h).collect();
        let mut unjoined = 0;
        for t in threads {
            if wait_finished(&t, join_by) {
                let _ = t.join();
            } else {
                unjoined += 1;
            }
        }
        if let Some(wd) = lock(&self.watchdog).take() {
            if wait_finished(&wd, join_by) {
                let _ = wd.join();
            }
        }
        ShutdownReport { abandoned: self.abandoned_jobs(), unjoined_workers: unjoined }
    }
}

/// Waits (polling, up to `deadline`) for a thread to finish; true when it did.
fn wait_finished<T>(t: &JoinHandle<T>, deadline: Instant) -> bool {
    while !t.is_finished() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

impl Inner {
    /// Waits until nothing runs (and, with `queued`, nothing is queued) or `deadline`.
    fn wait_idle(&self, deadline: Instant, queued: bool) {
        let mut st = lock(&self.state);
        loop {
            if st.running_total == 0 && (!queued || st.queued_total == 0) {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            st = match self.idle_cv.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}
