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
//! quota, with `Retry-After` when waiting helps) and 503 (the pool is saturated, or the
//! server is draining). A guest error is a 200 whose report has `status: "error"`.
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
pub mod store;
pub mod telemetry;

use std::future::Future;
use std::time::Duration;

use axum::serve::ListenerExt;

pub use app::{router, AppState, Caller, OPENAPI_JSON, PLAYGROUND_HTML, ROUTES};
pub use config::{ServerConfig, Tenant};
pub use error::ServerError;
pub use store::{MemoryStore, ScriptRecord, ScriptStore};

/// Serves `state` on `listener` until `shutdown` completes, then drains: `GET /readyz`
/// turns 503, the listener stops accepting, in-flight requests finish (their jobs run to the
/// end), and the pool shuts down (see [`sandvm_pool::Pool::shutdown`]).
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
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            draining.start_draining();
            tracing::info!("shutting down: draining in-flight requests");
        })
        .await;
    upkeep.abort();
    state.shutdown().await;
    tracing::info!("stopped");
    served.map_err(|source| ServerError::Io { context: "serving HTTP".into(), source })
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
