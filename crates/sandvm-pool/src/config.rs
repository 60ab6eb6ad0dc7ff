//! Pool and tenant configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use sandvm::Limits;

/// Where guest code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// Worker threads of this process. A guest stuck in a long builtin is bounded by
    /// abandoning its thread at the hard deadline (the thread cannot be killed). The default.
    #[default]
    Thread,
    /// Child processes (Linux only) of a worker binary, under `setrlimit` and a seccomp
    /// filter, killed with `SIGKILL` at the hard deadline. See [`crate::worker_main`].
    Process,
}

/// How the pool runs: sizes, recycling, deadlines, process workers. Build it with
/// struct-update syntax from [`PoolConfig::default`].
///
/// ```
/// let config = sandvm_pool::PoolConfig { workers: 2, ..Default::default() };
/// assert_eq!(config.isolation, sandvm_pool::Isolation::Thread);
/// ```
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Number of workers (threads or processes). By default, the number of available cores.
    pub workers: usize,
    /// Thread or process workers. By default, [`Isolation::Thread`].
    pub isolation: Isolation,
    /// Jobs queued across all tenants before submissions fail with [`crate::PoolError::Busy`].
    /// By default, 10,000.
    pub queue_capacity: usize,
    /// A worker retires a tenant's runtime after this many jobs in it. By default, 1,000.
    pub recycle_after_jobs: u64,
    /// A worker retires a tenant's runtime when its heap grew by more than this many bytes
    /// since it was created (garbage that survives collection, persistent contexts).
    /// By default, 32 MiB.
    pub recycle_heap_growth: usize,
    /// Fresh contexts each worker keeps ready per tenant and context flavour (strict,
    /// frozen, deterministic). A job takes one, uses it once and drops it; the worker makes
    /// a new one after the job. By default, 2.
    pub warm_contexts: usize,
    /// Tenants whose runtimes a worker keeps between jobs (least recently used go first).
    /// By default, 64.
    pub max_tenants_per_worker: usize,
    /// How long [`crate::Pool::shutdown`] lets queued and running jobs finish before it
    /// cancels them. By default, 5 seconds.
    pub grace_period: Duration,
    /// Time past a job's timeout after which the job fails with `timeout` whatever the guest
    /// does (a guest stuck in one long builtin ignores the engine's interrupt): its thread is
    /// abandoned, or its process killed. By default, 500 ms.
    pub hard_deadline_margin: Duration,
    /// The worker executable for [`Isolation::Process`]. By default, `None`: the current
    /// executable (it must call [`crate::worker_main`] when started with `worker_args`).
    pub worker_binary: Option<PathBuf>,
    /// Arguments given to the worker executable. By default, `["worker"]` (the hidden
    /// subcommand of the `sandvm` CLI).
    pub worker_args: Vec<String>,
    /// `RLIMIT_AS` of each worker process, in bytes. By default, 4 GiB (runtimes of every
    /// tenant the worker serves live in it, plus thread stacks and allocator arenas).
    pub process_address_space: u64,
    /// `RLIMIT_CPU` of each worker process, in seconds; the pool replaces a worker between
    /// jobs once it used half of it. By default, 3,600.
    pub process_cpu_seconds: u64,
    /// The tenant configuration used for tenants that were never added with
    /// [`crate::Pool::add_tenant`]. By default, `None`: unknown tenants are refused with
    /// [`crate::PoolError::UnknownTenant`].
    pub default_tenant: Option<TenantConfig>,
    /// Lets jobs of kind `JobKind::Fault` run (they crash or hang a worker, or attempt
    /// forbidden system calls). Exists only with the `test-faults` cargo feature, which is
    /// for this crate's tests and off by default. By default, `false`.
    #[cfg(feature = "test-faults")]
    #[doc(hidden)]
    pub test_hooks: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            isolation: Isolation::Thread,
            queue_capacity: 10_000,
            recycle_after_jobs: 1_000,
            recycle_heap_growth: 32 * 1024 * 1024,
            warm_contexts: 2,
            max_tenants_per_worker: 64,
            grace_period: Duration::from_secs(5),
            hard_deadline_margin: Duration::from_millis(500),
            worker_binary: None,
            worker_args: vec!["worker".into()],
            process_address_space: 4 * 1024 * 1024 * 1024,
            process_cpu_seconds: 3_600,
            default_tenant: None,
            #[cfg(feature = "test-faults")]
            test_hooks: false,
        }
    }
}

impl PoolConfig {
    /// Whether fault jobs may run: the `test-faults` feature is on and
    /// `test_hooks` is set.
    pub(crate) fn test_hooks_enabled(&self) -> bool {
        #[cfg(feature = "test-faults")]
        if self.test_hooks {
            return true;
        }
        false
    }
}

/// A token bucket: `per_second` jobs on average, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateQuota {
    /// Tokens added per second.
    pub per_second: f64,
    /// Bucket size (and initial content).
    pub burst: u32,
}

/// CPU milliseconds a tenant may use per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuBudget {
    /// Budget in CPU milliseconds.
    pub cpu_ms: u64,
    /// Window length; the budget resets at the start of each window.
    pub window: Duration,
}

/// Quotas and limit maxima of one tenant.
///
/// ```
/// let t = sandvm_pool::TenantConfig { max_concurrency: 1, ..Default::default() };
/// assert_eq!(t.max_queued, 1_000);
/// ```
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// Jobs of the tenant running at once (on different workers). By default, `usize::MAX`
    /// (bounded by the number of workers).
    pub max_concurrency: usize,
    /// Jobs of the tenant waiting in the queue; one more fails at once with
    /// [`crate::PoolError::QuotaExceeded`]. By default, 1,000.
    pub max_queued: usize,
    /// Submission rate. By default, `None` (no rate limit).
    pub rate: Option<RateQuota>,
    /// CPU budget per window. Submissions fail once the window's budget is used up (jobs
    /// already queued still run). By default, `None`.
    pub cpu_budget: Option<CpuBudget>,
    /// Bytes of engine heap across all the tenant's runtimes: the memory limits of its
    /// running jobs plus the heap its idle runtimes hold. A job waits in the queue until it
    /// fits; a job whose own memory limit is above the cap is refused. By default, 1 GiB.
    pub memory_cap: usize,
    /// Limits of a job that gives none. By default, [`Limits::default`].
    pub default_limits: Limits,
    /// The most a job may ask for, field by field (a job's limits are capped to these).
    /// By default: timeout 30 s, CPU time unlimited, memory 256 MiB, stack 1 MiB, output
    /// 16 MiB, 10,000,000 promise jobs.
    pub max_limits: Limits,
    /// In-memory ES modules that the tenant's module jobs may import, by specifier (and by
    /// relative specifiers between them). By default, none: a module job can import nothing.
    pub modules: BTreeMap<String, String>,
}

impl Default for TenantConfig {
    fn default() -> Self {
        TenantConfig {
            max_concurrency: usize::MAX,
            max_queued: 1_000,
            rate: None,
            cpu_budget: None,
            memory_cap: 1024 * 1024 * 1024,
            default_limits: Limits::default(),
            max_limits: Limits {
                timeout: Some(Duration::from_secs(30)),
                cpu_time: None,
                memory: 256 * 1024 * 1024,
                stack: 1024 * 1024,
                max_output: 16 * 1024 * 1024,
                max_jobs: 10_000_000,
            },
            modules: BTreeMap::new(),
        }
    }
}

impl TenantConfig {
    /// `limits` (or the default limits) clamped field by field to the tenant's maxima
    /// ([`Limits::clamp_to`]). The pool *clamps*: a library caller that asks for more gets
    /// the maximum. (The HTTP service refuses instead, before a job reaches the pool.)
    pub fn effective_limits(&self, limits: Option<&Limits>) -> Limits {
        limits.unwrap_or(&self.default_limits).clamp_to(&self.max_limits)
    }
}
