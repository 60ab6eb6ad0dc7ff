//! # sandvm-server
//!
//! A multi-tenant HTTP service that runs untrusted JavaScript in the sandvm sandbox, on the
//! [`sandvm_pool`] worker pool: `sandvm serve`.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /v1/execute` | run code (`{"code", "module", "timeout_ms", "memory_mb", "globals", "capabilities"}`) → the report of `sandvm run --json` |
//! | `POST /v1/scripts`, `POST /v1/scripts/{id}/run`, `DELETE /v1/scripts/{id}` | store a compiled script per tenant, run it, forget it |
//! | `POST /v1/templates/render` | render a Handlebars template with JavaScript helpers in the sandbox |
//! | `GET /v1/limits` | the caller's effective limits, capabilities and quotas |
//! | `GET /healthz`, `GET /readyz`, `GET /metrics` | liveness, readiness (503 while draining), Prometheus text |
//! | `GET /openapi.json` | the OpenAPI 3.1 document of these routes |
//! | `GET /` | the playground |
//!
//! Rejections are JSON `{"error": {"kind", "message"}}` with 400 (malformed JSON or a field
//! of the wrong type, named), 401 (missing or unknown API key), 404, 413, 415, 422 (a
//! semantically invalid request: a non-positive limit, a limit above the tenant's maximum —
//! refused, never clamped —, an unknown capability, a script that does not compile), 429 (a
//! quota, with `Retry-After` when waiting helps) and 503 (`busy`: the pool's queue is full;
//! `saturated`: too many guest threads stuck past their deadline are still running;
//! `shutting_down`; or, in distributed mode, `queue_unavailable`: the broker is unreachable),
//! each with `Retry-After`. In distributed mode (`cluster.queue`, [`AppState::connect`]) jobs
//! go through a NATS JetStream queue to worker nodes ([`queue`]); a job whose workers died
//! `max_deliver` times is a 500 `worker_lost`. Template renders are pool jobs like
//! `/v1/execute`: the same quotas, CPU budget, isolation and watchdog apply to them. A guest error is a 200 whose report has `status: "error"`.
//!
//! Stored scripts, the tenants' rate buckets and the execution log live in a [`ScriptStore`]
//! ([`store`]): [`MemoryStore`] ([`AppState::new`]), [`SqliteStore`] (embedded, persistent)
//! or [`PostgresStore`] (shared by several API nodes), given to [`AppState::with_store`]. A
//! store that does not answer in time is a 503 `store_unavailable` with `Retry-After`.
//!
//! ```no_run
//! # async fn run() -> Result<(), sandvm_server::ServerError> {
//! let config = sandvm_server::ServerConfig::default();
//! let state = sandvm_server::AppState::new(config)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080")
//!     .await
//!     .map_err(|source| sandvm_server::ServerError::Io { context: "bind".into(), source })?;
//! sandvm_server::serve(state, listener, sandvm_server::shutdown_signal()).await
//! # }
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod api;
mod app;
pub mod config;
mod error;
pub mod queue;
pub mod store;
pub mod telemetry;

use std::future::{Future, IntoFuture};
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;

pub use app::{router, AppState, Caller, OPENAPI_JSON, PLAYGROUND_HTML, ROUTES};
pub use config::{ClusterSettings, ServerConfig, Tenant};
pub use error::ServerError;
pub use queue::{InProcessQueue, JobBody, JobQueue, QueuedJob};
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
pub use store::{Admission, ExecutionRecord, MemoryStore, ScriptRecord, ScriptStore};
#[cfg(feature = "postgres")]
pub use store::{PostgresOptions, PostgresStore};

/// Serves `state` on `listener` until `shutdown` completes, then drains for the pool's
/// grace period (`pool.grace_period_ms`): `GET /readyz` turns 503, the listener stops
/// accepting, in-flight requests may finish within the grace, then the pool shuts down (see
/// [`sandvm_pool::Pool::shutdown_within`]) and this returns, even when guest threads are
/// stuck in a builtin: those are abandoned, and one log line names their jobs and tenants.
/// It returns within the grace plus about three hard-deadline margins and half a second.
///
/// # Errors
/// [`ServerError::Io`] when serving fails.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let app = router(state.clone());
    if let Ok(addr) = listener.local_addr() {
        let pool = state.pool().config();
        tracing::info!(%addr, workers = pool.workers, isolation = ?pool.isolation, "listening");
    }
    let upkeep = tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            telemetry::prometheus().run_upkeep();
        }
    });
    let draining = state.clone();
    let listener = listener.tap_io(|tcp| {
        // Small responses on keep-alive connections: no Nagle delay.
        let _ = tcp.set_nodelay(true);
    });
    let grace = state.pool().config().grace_period;
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<Instant>();
    let served = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        draining.start_draining();
        let _ = signalled_tx.send(Instant::now());
        tracing::info!(grace_ms = grace.as_millis() as u64, "shutting down: draining in-flight requests");
    });
    let mut served = std::pin::pin!(served.into_future());
    let (served, signalled) = tokio::select! {
        r = &mut served => (r, None),
        at = signalled_rx => {
            let at = at.unwrap_or_else(|_| Instant::now());
            // In-flight requests get the grace; past it they are dropped (their jobs are
            // cancelled with the pool below).
            match tokio::time::timeout(grace.saturating_sub(at.elapsed()), &mut served).await {
                Ok(r) => (r, Some(at)),
                Err(_) => {
                    tracing::warn!("drain grace elapsed with requests in flight: closing them");
                    (Ok(()), Some(at))
                }
            }
        }
    };
    upkeep.abort();
    let rest = signalled.map_or(grace, |at| grace.saturating_sub(at.elapsed()));
    let report = state.shutdown_within(rest).await;
    log_stopped(&report);
    served.map_err(|source| ServerError::Io { context: "serving HTTP".into(), source })
}

/// The last log line: clean, or naming the jobs whose stuck guest threads are abandoned.
fn log_stopped(report: &sandvm_pool::ShutdownReport) {
    if report.abandoned.is_empty() {
        tracing::info!("stopped");
        return;
    }
    let jobs: Vec<String> =
        report.abandoned.iter().map(|a| format!("job {} (tenant {})", a.job_id, a.tenant)).collect();
    tracing::warn!(
        abandoned = report.abandoned.len(),
        "stopped, abandoning {} stuck guest thread(s): {}",
        report.abandoned.len(),
        jobs.join(", ")
    );
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
