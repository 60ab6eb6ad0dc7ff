//! The one error type of the pool.

use std::time::Duration;

/// Why the pool could not give a job its result.
///
/// Guest failures and limits (syntax errors, exceptions, timeouts, memory limit, output
/// limit...) are not pool errors: they come back as an [`crate::Outcome`] whose report has
/// `status: "error"`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The tenant is over one of its quotas; nothing was queued.
    #[error("tenant {tenant:?} is over quota: {reason}")]
    QuotaExceeded {
        /// The tenant.
        tenant: String,
        /// Which quota: `max_queued`, `rate`, `cpu_budget`, `memory_cap`.
        reason: String,
        /// When trying again may succeed (`None`: not by waiting, e.g. a job too large for
        /// the tenant's memory cap).
        retry_after: Option<Duration>,
    },
    /// The pool's queue (all tenants) is full.
    #[error("the pool's queue is full")]
    Busy,
    /// The tenant was never added and the pool has no default tenant configuration.
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    /// No script with this id is registered for the tenant.
    #[error("no script {id} registered for tenant {tenant:?}")]
    UnknownScript {
        /// The tenant.
        tenant: String,
        /// The script id.
        id: u64,
    },
    /// The pool cannot do this here (process isolation off Linux).
    #[error("unsupported job: {0}")]
    Unsupported(String),
    /// The job is malformed (globals not an object, a `Call` job without a persistent
    /// context, a source that does not compile at registration...).
    #[error("invalid job: {0}")]
    InvalidJob(String),
    /// The job was cancelled, queued or running.
    #[error("the job was cancelled")]
    Cancelled,
    /// The pool is shutting down (or shut down) and accepts no job.
    #[error("the pool is shutting down")]
    ShuttingDown,
    /// Thread mode: too many guest threads of this process were abandoned at their hard
    /// deadline and are still running (see [`sandvm::check_capacity`]); nothing was queued.
    /// Trying again helps once some of them end.
    #[error("saturated: {abandoned} abandoned guest threads are still running (cap {max})")]
    Saturated {
        /// Abandoned guest threads alive in the process.
        abandoned: usize,
        /// The process-wide cap ([`sandvm::set_max_abandoned_threads`]).
        max: usize,
    },
    /// The worker running the job died (crash, signal, killed from outside). Only this job
    /// failed; the worker was replaced.
    #[error("worker crashed: {0}")]
    WorkerCrashed(String),
    /// A worker process sent or was sent a malformed or oversized frame.
    #[error("worker protocol error: {0}")]
    Protocol(String),
    /// The pool could not start or talk to a worker (spawn failure, I/O error).
    #[error("worker error: {0}")]
    Worker(String),
}

impl PoolError {
    /// A stable machine-readable kind: `quota_exceeded`, `busy`, `unknown_tenant`,
    /// `unknown_script`, `unsupported`, `invalid_job`, `cancelled`, `shutting_down`, `saturated`,
    /// `worker_crashed`, `protocol`, `worker`.
    pub fn kind(&self) -> &'static str {
        match self {
            PoolError::QuotaExceeded { .. } => "quota_exceeded",
            PoolError::Busy => "busy",
            PoolError::UnknownTenant(_) => "unknown_tenant",
            PoolError::UnknownScript { .. } => "unknown_script",
            PoolError::Unsupported(_) => "unsupported",
            PoolError::InvalidJob(_) => "invalid_job",
            PoolError::Cancelled => "cancelled",
            PoolError::ShuttingDown => "shutting_down",
            PoolError::Saturated { .. } => "saturated",
            PoolError::WorkerCrashed(_) => "worker_crashed",
            PoolError::Protocol(_) => "protocol",
            PoolError::Worker(_) => "worker",
        }
    }
}
