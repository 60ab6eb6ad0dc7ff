//! The pool: its state, workers, public API and shutdown.
//!
//! Layers: `handle` is what a submitter holds (job handle, canceller); `admission` checks a
//! submission against the tenant's quotas and queues it; `scheduler` hands queued jobs to
//! workers fairly and delivers results; `watchdog` ends jobs past their hard deadline. Process
//! workers (`crate::process`) reach the pool only through its `Port` trait.

mod admission;
mod handle;
mod scheduler;
mod watchdog;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use metrics::counter;
use sandvm::{CacheKey, Script, ScriptOptions};
use tokio::sync::oneshot;

use crate::config::{Isolation, PoolConfig, TenantConfig};
use crate::exec::ExecSettings;
use crate::job::{Job, Outcome, ScriptId};
use crate::process::{JobControl, KillReason, Port, PortJob, SpawnSpec};
use crate::stats::{names, PoolStats};
use crate::sync::lock;
use crate::wire::{Hello, ScriptDef, HELLO_MAGIC};
use crate::PoolError;

use admission::{Registered, TenantState};
use handle::JobShared;
pub use handle::{Canceller, JobHandle};
use scheduler::Slot;
use watchdog::Stuck;

type Reply = oneshot::Sender<Result<Outcome, PoolError>>;

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

struct Inner {
    config: PoolConfig,
    state: Mutex<State>,
    work_cv: Condvar,
    idle_cv: Condvar,
    slots: Vec<Mutex<Slot>>,
    next_id: AtomicU64,
    cache_key: CacheKey,
    key_bytes: [u8; 32],
    threads: Mutex<HashMap<usize, JoinHandle<()>>>,
    watchdog: Mutex<Option<JoinHandle<()>>>,
    /// Jobs whose thread was abandoned and is still running, by job id. Each entry holds the
    /// thread's [`AbandonedThread`] token; the thread removes its entry when it ends.
    stuck: Mutex<HashMap<u64, Stuck>>,
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

impl Inner {
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

    /// How process workers are started (the hello frame carries the executor settings).
    fn spawn_spec(&self) -> SpawnSpec {
        SpawnSpec {
            binary: self.config.worker_binary.clone(),
            args: self.config.worker_args.clone(),
            hello: Hello {
                magic: HELLO_MAGIC,
                cache_key: self.key_bytes,
                exec: ExecSettings { in_process: true, ..self.exec_settings() },
                address_space: self.config.process_address_space,
                cpu_seconds: self.config.process_cpu_seconds,
            },
        }
    }

    fn start_worker(self: &Arc<Self>, w: usize, epoch: u64) -> Result<(), PoolError> {
        let inner = self.clone();
        let builder = std::thread::Builder::new().name(format!("sandvm-worker-{w}"));
        let spawned = match self.config.isolation {
            Isolation::Thread => {
                builder.stack_size(sandvm::GUEST_THREAD_STACK).spawn(move || inner.thread_worker(w, epoch))
            }
            Isolation::Process => {
                let spec = self.spawn_spec();
                builder.spawn(move || crate::process::driver(&SlotPort { inner, w }, &spec))
            }
        };
        let handle = spawned.map_err(|e| PoolError::Worker(format!("cannot start worker {w}: {e}")))?;
        // A replaced handle belongs to an abandoned thread: dropping it detaches it.
        lock(&self.threads).insert(w, handle);
        Ok(())
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

/// A process worker's slot, as its driver thread sees it (see [`Port`]).
struct SlotPort {
    inner: Arc<Inner>,
    w: usize,
}

impl Port for SlotPort {
    fn next_job(&self) -> Option<PortJob> {
        let t = self.inner.next_job(self.w, 0)?;
        let control: Arc<dyn JobControl> = t.shared;
        Some(PortJob { exec: t.exec, def: t.registered.as_ref().map(|r| r.def.clone()), control })
    }

    fn complete(&self, result: Result<crate::wire::ExecResult, PoolError>) {
        self.inner.complete(self.w, 0, result);
    }

    fn stopping(&self) -> bool {
        self.inner.stopping()
    }

    fn spawning(&self, pid: u32, ready_by: Instant) {
        self.inner.count_worker_start();
        let mut slot = lock(&self.inner.slots[self.w]);
        slot.pid = Some(pid);
        slot.spawn_deadline = Some(ready_by);
    }

    fn spawned(&self) {
        lock(&self.inner.slots[self.w]).spawn_deadline = None;
    }

    fn set_pid(&self, pid: Option<u32>) {
        lock(&self.inner.slots[self.w]).pid = pid;
    }

    fn take_kill(&self) -> Option<KillReason> {
        let mut slot = lock(&self.inner.slots[self.w]);
        slot.pid = None;
        slot.kill.take()
    }

    fn count_worker_event(&self, killed: Option<KillReason>) {
        self.inner.count_worker_event(killed);
    }
}
