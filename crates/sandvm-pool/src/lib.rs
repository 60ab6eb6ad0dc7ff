//! # sandvm-pool
//!
//! A pool of workers that run [`sandvm`] jobs for many tenants.
//!
//! - **Workers**: threads (default) or, on Linux, child processes under `setrlimit` and a
//!   seccomp filter ([`Isolation`]). Each worker keeps one runtime per tenant: no runtime,
//!   context, global or script cache is ever shared between tenants, and a job runs in a
//!   fresh context (taken from a pre-warmed set, used once, dropped) unless it names a
//!   persistent context.
//! - **Tenants** ([`TenantConfig`]): max concurrency, bounded queue, rate quota (token
//!   bucket), CPU budget per window, memory cap, limit maxima. Over quota, a submission fails
//!   at once with [`PoolError::QuotaExceeded`]. Tenants are served round-robin, so a tenant
//!   that floods the pool waits behind itself, not in front of others.
//! - **Deadlines**: a job's timeout is enforced by the engine's interrupt; a guest stuck in
//!   one long builtin is ended at the hard deadline (timeout + margin) by abandoning its
//!   thread or killing its process, and the worker is replaced. An abandoned thread holds a
//!   [`sandvm::AbandonedThread`] token until it ends; at the process-wide cap
//!   ([`sandvm::set_max_abandoned_threads`]) thread-mode submissions fail with
//!   [`PoolError::Saturated`]. [`Pool::shutdown`] never waits for a stuck thread: it reports
//!   the jobs it left behind ([`ShutdownReport`]).
//! - **Templates**: [`Job::template`] renders a Handlebars template (with partials, JavaScript
//!   helpers and data) with [`sandvm_template`] on a worker, under the same quotas, limits and
//!   watchdog as any job.
//! - **Recycling**: a tenant's runtime on a worker is retired after a limit was hit, after N
//!   jobs, or after M bytes of heap growth.
//! - **Monitoring**: counters and histograms through the `metrics` crate ([`names`]) and a
//!   serialisable snapshot ([`Pool::stats`]).
//!
//! ```
//! use sandvm_pool::{Job, Pool, PoolConfig, TenantConfig};
//! # fn main() -> Result<(), sandvm_pool::PoolError> {
//! let pool = Pool::new(PoolConfig { workers: 2, ..Default::default() })?;
//! pool.add_tenant("acme", TenantConfig::default());
//! let out = pool.execute_blocking("acme", Job::source("[1, 2, 3].map(x => x * 2)"))?;
//! assert_eq!(out.report.display, "[ 2, 4, 6 ]");
//! let out = pool.execute_blocking("acme", Job::source("while (true) {}").with_limits(sandvm::Limits {
//!     timeout: Some(std::time::Duration::from_millis(20)),
//!     ..Default::default()
//! }))?;
//! assert_eq!(out.error_kind(), Some("timeout"));
//! # Ok(()) }
//! ```
//!
//! The async API (`pool.execute(tenant, job).await`) runs on any executor; the pool itself
//! uses its own threads.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod error;
mod exec;
mod job;
mod pool;
mod process;
mod stats;
mod sync;
mod template;
mod wire;
mod worker;

pub use config::{CpuBudget, Isolation, PoolConfig, RateQuota, TenantConfig};
pub use error::PoolError;
#[cfg(feature = "test-faults")]
#[doc(hidden)]
pub use job::Fault;
pub use job::{Job, JobKind, JobOptions, Outcome, ScriptId};
pub use pool::{AbandonedJob, Canceller, JobHandle, Pool, ShutdownReport};
pub use stats::{names, PoolStats, TenantStats};
pub use template::TemplateJob;
pub use worker::worker_main;

/// Re-exported core types used in jobs.
pub use sandvm::{Limits, Report, ScriptOptions, Stats};
