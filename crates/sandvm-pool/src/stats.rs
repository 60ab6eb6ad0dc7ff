//! Counters kept by the pool, the `metrics` it emits and the snapshot of [`crate::Pool::stats`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Isolation;

/// Names of the metrics the pool records through the `metrics` crate (install any
/// `metrics` recorder, e.g. a Prometheus exporter, to collect them).
pub mod names {
    /// Counter, labels `tenant`, `outcome` (`ok`, a run error kind such as `timeout`, or a
    /// pool error kind such as `worker_crashed` or `cancelled`).
    pub const EXECUTIONS: &str = "sandvm_pool_executions_total";
    /// Counter, labels `tenant`, `reason` (`max_queued`, `rate`, `cpu_budget`, `memory_cap`,
    /// `busy`).
    pub const REJECTIONS: &str = "sandvm_pool_rejections_total";
    /// Histogram of seconds a job waited in the queue, label `tenant`.
    pub const QUEUE_WAIT: &str = "sandvm_pool_queue_wait_seconds";
    /// Histogram of run wall-clock seconds, label `tenant`.
    pub const RUN_TIME: &str = "sandvm_pool_run_seconds";
    /// Histogram of CPU milliseconds per run, label `tenant`.
    pub const CPU_MS: &str = "sandvm_pool_cpu_ms";
    /// Histogram of the heap peak of each run in bytes, label `tenant`.
    pub const HEAP_PEAK: &str = "sandvm_pool_heap_peak_bytes";
    /// Counter, labels `tenant`, `reason` (`limit`, `jobs`, `heap`, `spent`, `stale_cancel`).
    pub const RECYCLED: &str = "sandvm_pool_recycled_runtimes_total";
    /// Counter of worker threads abandoned at a hard deadline (thread mode).
    pub const ABANDONED: &str = "sandvm_pool_abandoned_threads_total";
    /// Counter of worker processes killed by the pool, label `reason` (`deadline`, `cancel`,
    /// `shutdown`).
    pub const KILLED: &str = "sandvm_pool_killed_workers_total";
    /// Counter of worker processes that died on their own (crash, signal from outside).
    pub const CRASHED: &str = "sandvm_pool_crashed_workers_total";
    /// Gauge of queued jobs (all tenants).
    pub const QUEUED: &str = "sandvm_pool_queued_jobs";
}

/// Per-tenant figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantStats {
    /// Jobs waiting.
    pub queued: usize,
    /// Jobs running.
    pub running: usize,
    /// Jobs accepted.
    pub submitted: u64,
    /// Submissions refused, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Finished jobs by outcome (`ok`, run error kinds, pool error kinds).
    pub outcomes: BTreeMap<String, u64>,
    /// CPU milliseconds used in the current budget window.
    pub cpu_ms_window: f64,
    /// CPU milliseconds used in total.
    pub cpu_ms_total: f64,
    /// Bytes counted against the memory cap now (limits of running jobs plus idle heaps).
    pub memory_in_use: usize,
    /// The largest heap peak of any run.
    pub heap_peak_max: usize,
    /// Runtimes retired, by reason.
    pub recycled: BTreeMap<String, u64>,
}

/// A snapshot of the pool (serialisable; see [`crate::Pool::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolStats {
    /// Thread or process workers.
    pub isolation: Isolation,
    /// Number of worker slots.
    pub workers: usize,
    /// Whether the pool accepts jobs.
    pub accepting: bool,
    /// Jobs waiting (all tenants).
    pub queued: usize,
    /// Jobs running.
    pub running: usize,
    /// Finished jobs by outcome, all tenants.
    pub outcomes: BTreeMap<String, u64>,
    /// Runtimes retired (all tenants).
    pub recycled_runtimes: u64,
    /// Worker threads abandoned at a hard deadline (thread mode). They may still be running
    /// a builtin; see `stuck_threads`.
    pub abandoned_threads: u64,
    /// Abandoned threads that have not finished yet.
    pub stuck_threads: u64,
    /// Guest threads of the whole process abandoned and still running (this pool's and any
    /// other front end's; [`sandvm::abandoned_threads`]).
    pub process_abandoned_threads: usize,
    /// Guest threads of the whole process abandoned since it started
    /// ([`sandvm::total_abandoned_threads`]).
    pub process_abandoned_total: usize,
    /// The process-wide cap on abandoned guest threads: at it, thread-mode submissions fail
    /// with [`crate::PoolError::Saturated`] ([`sandvm::max_abandoned_threads`]).
    pub max_abandoned_threads: usize,
    /// Worker processes killed by the pool (deadline, cancellation, shutdown).
    pub killed_workers: u64,
    /// Worker processes that died on their own.
    pub crashed_workers: u64,
    /// Worker processes started (first starts and replacements).
    pub worker_starts: u64,
    /// Sum and count of queue waits, to get a mean (histograms are in `metrics`).
    pub queue_wait_ms_sum: f64,
    /// Sum of run wall-clock milliseconds.
    pub run_ms_sum: f64,
    /// Runs measured in the sums.
    pub runs: u64,
    /// The process id of each worker slot's process (process mode; `None` while it is
    /// being replaced, and always `None` in thread mode).
    pub worker_pids: Vec<Option<u32>>,
    /// Per-tenant figures.
    pub tenants: BTreeMap<String, TenantStats>,
}
