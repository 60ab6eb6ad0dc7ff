//! Metrics (Prometheus text from the `metrics` registry), request ids, one structured log line
//! per request, and logging set-up.
//!
//! Metrics, besides the pool's (`sandvm_pool_*`, see [`sandvm_pool::names`]):
//!
//! | name | type | labels |
//! | --- | --- | --- |
//! | `sandvm_http_requests_total` | counter | `route`, `method`, `status` |
//! | `sandvm_http_request_duration_seconds` | histogram | `route`, `method`, `status` |
//! | `sandvm_http_in_flight_requests` | gauge | |
//! | `sandvm_template_renders_total` | counter | `tenant`, `outcome` |
//! | `sandvm_tenant_cpu_ms_total` | counter | `tenant` |
//! | `sandvm_tenant_queued_jobs`, `sandvm_tenant_running_jobs` | gauge | `tenant` |
//! | `sandvm_pool_running_jobs`, `sandvm_pool_queued_jobs` | gauge | |
//! | `sandvm_abandoned_threads` | gauge | guest threads abandoned at a hard deadline, still running |
//! | `sandvm_abandoned_threads_total` | counter | guest threads abandoned since start |
//! | `sandvm_max_abandoned_threads` | gauge | the cap (503 `saturated` at it) |
//!
//! A worker node (`sandvm worker --metrics-addr`, [`worker_metrics_router`]) serves the pool's
//! metrics and the gauges above taken from its pool, and its job counters
//! (`sandvm_worker_jobs_{taken,redelivered,acked,requeued,terminated}_total`, see
//! [`crate::queue::nats::worker_names`]); it serves no HTTP API, so the `sandvm_http_*`
//! metrics are absent there.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::app::AppState;

/// Names of the metrics the server records itself.
pub mod names {
    /// Counter of HTTP requests, labels `route`, `method`, `status`.
    pub const HTTP_REQUESTS: &str = "sandvm_http_requests_total";
    /// Histogram of request latency in seconds, labels `route`, `method`, `status`.
    pub const HTTP_DURATION: &str = "sandvm_http_request_duration_seconds";
    /// Gauge of requests being served.
    pub const HTTP_IN_FLIGHT: &str = "sandvm_http_in_flight_requests";
    /// Counter of template renders, labels `tenant`, `outcome`.
    pub const TEMPLATE_RENDERS: &str = "sandvm_template_renders_total";
    /// Counter of CPU milliseconds used by a tenant's jobs, label `tenant`.
    pub const TENANT_CPU_MS: &str = "sandvm_tenant_cpu_ms_total";
    /// Gauge of a tenant's queued jobs, label `tenant`.
    pub const TENANT_QUEUED: &str = "sandvm_tenant_queued_jobs";
    /// Gauge of a tenant's running jobs, label `tenant`.
    pub const TENANT_RUNNING: &str = "sandvm_tenant_running_jobs";
    /// Gauge of running jobs (all tenants).
    pub const POOL_RUNNING: &str = "sandvm_pool_running_jobs";
    /// Gauge of guest threads of the process abandoned at a hard deadline and still running.
    pub const ABANDONED_THREADS: &str = "sandvm_abandoned_threads";
    /// Counter of guest threads of the process abandoned since it started.
    pub const ABANDONED_THREADS_TOTAL: &str = "sandvm_abandoned_threads_total";
    /// Gauge of the cap on abandoned guest threads.
    pub const MAX_ABANDONED_THREADS: &str = "sandvm_max_abandoned_threads";
    /// Counter of runs the store refused to add to the execution log.
    pub const EXECUTION_LOG_FAILURES: &str = "sandvm_execution_log_failures_total";
    /// Counter of runs whose CPU time the store refused to charge to the tenant's CPU budget.
    pub const CPU_CHARGE_FAILURES: &str = "sandvm_cpu_charge_failures_total";
}

/// The request id header, set on every response (taken from the request when it is sane).
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of a request, in the request's extensions (for handlers and logs).
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// The tenant that made a request, put in the response's extensions by handlers (for the log
/// line).
#[derive(Debug, Clone)]
pub struct TenantTag(pub String);

/// What came of a request (`ok`, a guest error kind such as `timeout`, or a rejection kind),
/// put in the response's extensions (for the log line).
#[derive(Debug, Clone)]
pub struct Outcome(pub &'static str);

/// The outcome of a guest run, owned (guest error kinds are open-ended strings).
#[derive(Debug, Clone)]
pub struct RunOutcome(pub String);

/// The process-wide Prometheus recorder, installed on first use. When another recorder was
/// installed first (an embedding application's), the server still renders its own, empty
/// registry.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let time = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &time)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(sandvm_pool::names::CPU_MS.into()),
                    &[0.1, 0.5, 1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0],
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(sandvm_pool::names::HEAP_PEAK.into()),
                    &[262_144.0, 1_048_576.0, 4_194_304.0, 16_777_216.0, 67_108_864.0, 268_435_456.0],
                )
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only the server's own registry");
        }
        handle
    })
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn request_id(req: &Request) -> HeaderValue {
    if let Some(v) = req.headers().get(&REQUEST_ID) {
        let sane = v.len() <= 64
            && !v.is_empty()
            && v.as_bytes().iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b));
        if sane {
            return v.clone();
        }
    }
    let n = NEXT_ID.fetch_add(1, Relaxed);
    HeaderValue::from_str(&format!("{:08x}-{n}", process_tag())).unwrap_or(HeaderValue::from_static("0"))
}

/// A random tag per process, so request ids of several servers do not collide.
fn process_tag() -> u32 {
    static TAG: OnceLock<u32> = OnceLock::new();
    *TAG.get_or_init(|| {
        let mut b = [0u8; 4];
        let _ = getrandom::fill(&mut b);
        u32::from_le_bytes(b)
    })
}

/// The middleware around every route: request id, in-flight gauge, request counter and
/// latency histogram by route (the matched pattern, never the raw path) and status, and one
/// log line (request id, method, route, status, latency, tenant, outcome; never the body or
/// the API key).
pub(crate) async fn observe(State(_app): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let method = req.method().clone();
    gauge!(names::HTTP_IN_FLIGHT).increment(1.0);
    let mut res = next.run(req).await;
    gauge!(names::HTTP_IN_FLIGHT).decrement(1.0);
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    let status_label = status_label(status);
    let labels = [("route", route.clone()), ("method", method.to_string()), ("status", status_label.to_string())];
    counter!(names::HTTP_REQUESTS, &labels).increment(1);
    histogram!(names::HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
    let tenant = res.extensions().get::<TenantTag>().map(|t| t.0.clone());
    let outcome = match (res.extensions().get::<RunOutcome>(), res.extensions().get::<Outcome>()) {
        (Some(r), _) => r.0.clone(),
        (None, Some(o)) => o.0.to_string(),
        (None, None) => if res.status().is_success() { "ok" } else { "error" }.to_string(),
    };
    let latency_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    let request_id = id.to_str().unwrap_or("");
    let quiet = matches!(route.as_str(), "/healthz" | "/readyz" | "/metrics");
    if quiet {
        tracing::debug!(request_id, %method, route, status, latency_ms, outcome, "request");
    } else if status >= 500 {
        tracing::warn!(request_id, %method, route, status, latency_ms, tenant, outcome, "request");
    } else {
        tracing::info!(request_id, %method, route, status, latency_ms, tenant, outcome, "request");
    }
    res.headers_mut().insert(REQUEST_ID.clone(), id);
    res
}

fn status_label(s: u16) -> &'static str {
    match s {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        404 => "404",
        405 => "405",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

/// Sets the gauges and counters taken from a pool snapshot (called at each scrape).
pub(crate) fn record_pool(stats: &sandvm_pool::PoolStats) {
    gauge!(sandvm_pool::names::QUEUED).set(stats.queued as f64);
    gauge!(names::POOL_RUNNING).set(stats.running as f64);
    gauge!(names::ABANDONED_THREADS).set(stats.process_abandoned_threads as f64);
    counter!(names::ABANDONED_THREADS_TOTAL).absolute(stats.process_abandoned_total as u64);
    gauge!(names::MAX_ABANDONED_THREADS).set(stats.max_abandoned_threads as f64);
    for (tenant, t) in &stats.tenants {
        counter!(names::TENANT_CPU_MS, "tenant" => tenant.clone()).absolute(t.cpu_ms_total.round() as u64);
        gauge!(names::TENANT_QUEUED, "tenant" => tenant.clone()).set(t.queued as f64);
        gauge!(names::TENANT_RUNNING, "tenant" => tenant.clone()).set(t.running as f64);
    }
}

/// The routes of a worker node's metrics listener (`sandvm worker --metrics-addr`):
/// `GET /metrics` (Prometheus text from [`prometheus`]: the pool's metrics, refreshed from
/// `pool`'s snapshot at each scrape, and the worker's job counters,
/// [`crate::queue::nats::worker_names`]) and `GET /healthz` (`{"status":"ok"}` while the
/// process serves). Installs the process-wide recorder if it is not yet installed; install it
/// before the pool starts (call [`prometheus`]) so that no early sample is lost.
pub fn worker_metrics_router(pool: std::sync::Arc<sandvm_pool::Pool>) -> axum::Router {
    use axum::response::IntoResponse;
    let _ = prometheus();
    let metrics = move || {
        let pool = pool.clone();
        async move {
            record_pool(&pool.stats());
            let text = prometheus().render();
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
        }
    };
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .route("/healthz", axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
}

/// Serves [`worker_metrics_router`] on `listener` until the returned future is dropped (a
/// worker node aborts it when it stops).
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve_worker_metrics(
    listener: tokio::net::TcpListener,
    pool: std::sync::Arc<sandvm_pool::Pool>,
) -> std::io::Result<()> {
    axum::serve(listener, worker_metrics_router(pool)).await
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (`key=value` fields).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs a `tracing` subscriber writing to standard error, filtered by `filter`
/// (`RUST_LOG` syntax, e.g. `info` or `sandvm_server=debug`). Does nothing when a subscriber
/// is already installed.
pub fn init_logging(filter: &str, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
