//! The application: shared state, the router (built from one route table, which the OpenAPI
//! test checks), authentication and the handlers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, MethodRouter};
use axum::{Json, Router};
use metrics::counter;
use sandvm::Limits;
use sandvm_pool::{Pool, TemplateJob};
use serde_json::{json, Value as JsonValue};

use crate::api::{
    ApiJson, CreateScriptRequest, CreateScriptResponse, ExecuteRequest, LimitsResponse, OptionalJson, RenderError,
    RenderRequest, RenderResponse, RequestLimits, RunScriptRequest,
};
use crate::config::{canonical_pack, hash_key, ServerConfig, Tenant};
use crate::queue::{InProcessQueue, JobBody, JobQueue, QueuedJob};
use crate::store::{
    cpu_quota, new_id, new_id_with, now_ms, rate_quota, Admission, ExecutionRecord, MemoryStore, ScriptRecord,
    ScriptStore,
};
use crate::telemetry::{self, RunOutcome, TenantTag};
use crate::ServerError;

/// Every route of the router: path and methods. The router is built from the same table,
/// and a test checks that `GET /openapi.json` documents exactly these.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["GET"]),
    ("/healthz", &["GET"]),
    ("/readyz", &["GET"]),
    ("/metrics", &["GET"]),
    ("/openapi.json", &["GET"]),
    ("/v1/limits", &["GET"]),
    ("/v1/execute", &["POST"]),
    ("/v1/scripts", &["POST"]),
    ("/v1/scripts/{id}", &["DELETE"]),
    ("/v1/scripts/{id}/run", &["POST"]),
    ("/v1/templates/render", &["POST"]),
];

/// The playground page (HTML with its CSS and JavaScript inline; no external resource).
pub const PLAYGROUND_HTML: &str = include_str!("playground.html");
/// The OpenAPI 3.1 document served at `GET /openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

struct Inner {
    config: ServerConfig,
    pool: Arc<Pool>,
    /// Where jobs go: this pool ([`InProcessQueue`]) or the cluster's queue.
    queue: Arc<dyn JobQueue>,
    tenants: HashMap<String, Arc<Tenant>>,
    /// Key digest → tenant; empty in anonymous mode.
    keys: HashMap<String, Arc<Tenant>>,
    anonymous: Option<Arc<Tenant>>,
    store: Arc<dyn ScriptStore>,
    draining: AtomicBool,
}

/// The state shared by every request: configuration, tenants, the pool, the script store.
/// Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("tenants", &self.0.tenants.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl AppState {
    /// Starts the pool and builds the state, with an in-memory script store.
    ///
    /// # Errors
    /// [`ServerError::Config`] for an invalid configuration; [`ServerError::Internal`] when
    /// the pool cannot start.
    pub fn new(config: ServerConfig) -> Result<AppState, ServerError> {
        AppState::with_store(config, Arc::new(MemoryStore::new()))
    }

    /// As [`AppState::new`], with another store. When the store is shared
    /// ([`ScriptStore::is_shared`]: SQLite, PostgreSQL), every job checks the tenant's CPU
    /// budget window and takes a token from the tenant's bucket in the store first, and is
    /// charged its CPU time there once it ran; the pool's per-process bucket and CPU budget
    /// are off, so that every server on one database shares one budget of each.
    ///
    /// # Errors
    /// As [`AppState::new`].
    pub fn with_store(config: ServerConfig, store: Arc<dyn ScriptStore>) -> Result<AppState, ServerError> {
        AppState::build(config, store, None)
    }

    /// As [`AppState::with_store`], with the job queue the configuration names: with
    /// `cluster.queue` (`nats://HOST:PORT`) jobs go to NATS JetStream and worker nodes run
    /// them ([`crate::queue::nats`]); `pool.workers = 0` is allowed then (the local pool,
    /// one idle worker, runs nothing). Without it, as [`AppState::with_store`]. Must be called
    /// inside a Tokio runtime.
    ///
    /// # Errors
    /// As [`AppState::new`]; [`ServerError::QueueUnavailable`] when the broker cannot be
    /// reached.
    pub async fn connect(config: ServerConfig, store: Arc<dyn ScriptStore>) -> Result<AppState, ServerError> {
        config.validate()?;
        if config.cluster.queue.is_none() {
            return AppState::build(config, store, None);
        }
        #[cfg(feature = "nats")]
        {
            let margin = Duration::from_millis(config.pool.hard_deadline_margin_ms);
            let queue = crate::queue::nats::NatsQueue::connect(&config.cluster, margin).await?;
            AppState::build(config, store, Some(Arc::new(queue)))
        }
        // `validate` refused `cluster.queue` already; kept for the type checker.
        #[cfg(not(feature = "nats"))]
        Err(crate::config::not_built("cluster.queue", "NATS queue", "nats"))
    }

    fn build(
        mut config: ServerConfig,
        store: Arc<dyn ScriptStore>,
        queue: Option<Arc<dyn JobQueue>>,
    ) -> Result<AppState, ServerError> {
        config.validate()?;
        if config.pool.workers == Some(0) {
            // An API node of a cluster: the local pool only exists idle.
            config.pool.workers = Some(1);
        }
        let resolved = config.resolved_tenants()?;
        // Install the recorder before the pool records anything.
        let _ = telemetry::prometheus();
        let pool_config = config.pool_config();
        sandvm::set_max_abandoned_threads(config.pool.max_abandoned_threads);
        let pool = Pool::new(pool_config).map_err(|e| ServerError::internal(format!("cannot start the pool: {e}")))?;
        let pool = Arc::new(pool);
        let mut tenants = HashMap::new();
        let store_rate = store.is_shared();
        for t in resolved {
            let mut pool_tenant = t.pool.clone();
            if store_rate {
                pool_tenant.rate = None;
                pool_tenant.cpu_budget = None;
            }
            pool.add_tenant(&t.name, pool_tenant);
            tenants.insert(t.name.clone(), Arc::new(t));
        }
        let mut keys = HashMap::new();
        for (digest, name) in config.key_index() {
            if let Some(t) = tenants.get(&name) {
                keys.insert(digest, t.clone());
            }
        }
        let anonymous = if keys.is_empty() { tenants.get("anonymous").cloned() } else { None };
        let queue = queue.unwrap_or_else(|| Arc::new(InProcessQueue::new(pool.clone())));
        Ok(AppState(Arc::new(Inner {
            config,
            pool,
            queue,
            tenants,
            keys,
            anonymous,
            store,
            draining: AtomicBool::new(false),
        })))
    }

    /// The configuration in force.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The worker pool.
    pub fn pool(&self) -> &Pool {
        &self.0.pool
    }

    /// The store of scripts and usage.
    pub fn store(&self) -> &Arc<dyn ScriptStore> {
        &self.0.store
    }

    /// The job queue (in process, or the cluster's).
    pub fn queue(&self) -> &dyn JobQueue {
        &*self.0.queue
    }

    /// The largest request body accepted, in bytes.
    pub fn body_limit(&self) -> usize {
        self.0.config.body_limit_bytes
    }

    /// Marks the server as draining: `GET /readyz` answers 503 from now on.
    pub fn start_draining(&self) {
        self.0.draining.store(true, Relaxed);
    }

    /// True once [`AppState::start_draining`] was called.
    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Relaxed)
    }

    /// Drains and stops the pool (see [`Pool::shutdown`]); returns the jobs whose guest
    /// threads were stuck and left behind.
    pub async fn shutdown(&self) -> sandvm_pool::ShutdownReport {
        self.shutdown_within(self.0.pool.config().grace_period).await
    }

    /// As [`AppState::shutdown`], letting running jobs finish for at most `grace` (see
    /// [`Pool::shutdown_within`]).
    pub async fn shutdown_within(&self, grace: Duration) -> sandvm_pool::ShutdownReport {
        self.start_draining();
        self.0.pool.shutdown_within(grace).await
    }

    fn tenant_for(&self, parts: &Parts) -> Result<Arc<Tenant>, ServerError> {
        if let Some(anon) = &self.0.anonymous {
            return Ok(anon.clone());
        }
        let Some(h) = parts.headers.get(AUTHORIZATION) else {
            return Err(ServerError::Unauthorized("missing Authorization: Bearer <API key>".into()));
        };
        let token = h
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .filter(|k| !k.is_empty());
        let Some(token) = token else {
            return Err(ServerError::Unauthorized("expected Authorization: Bearer <API key>".into()));
        };
        self.0.keys.get(&hash_key(token)).cloned().ok_or_else(|| ServerError::Unauthorized("unknown API key".into()))
    }
}

/// The authenticated tenant of a request (401 when there is none).
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<Tenant>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        state.tenant_for(parts).map(Caller)
    }
}

/// Builds the router: the route table, typed JSON 404/405, the body limit, the telemetry
/// middleware and CORS for the configured origins.
pub fn router(state: AppState) -> Router {
    let mut r = Router::new();
    for (path, method_router) in table() {
        r = r.route(path, method_router);
    }
    let r = r
        .fallback(|| async { ServerError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ServerError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(state.body_limit()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), telemetry::observe));
    let r = match cors(&state.0.config.cors_origins) {
        Some(c) => r.layer(c),
        None => r,
    };
    r.with_state(state)
}

/// The handlers, by path (methods as in [`ROUTES`]).
fn table() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/", get(playground)),
        ("/healthz", get(healthz)),
        ("/readyz", get(readyz)),
        ("/metrics", get(metrics_text)),
        ("/openapi.json", get(openapi)),
        ("/v1/limits", get(limits)),
        ("/v1/execute", post(execute)),
        ("/v1/scripts", post(create_script)),
        ("/v1/scripts/{id}", delete(delete_script)),
        ("/v1/scripts/{id}/run", post(run_script)),
        ("/v1/templates/render", post(render_template)),
    ]
}

fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([CONTENT_TYPE, AUTHORIZATION])
            .expose_headers([telemetry::REQUEST_ID.clone(), axum::http::header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

/// Adds the tenant to a handler's response (for the log line), whatever it is.
fn tagged(tenant: &Tenant, r: Result<Response, ServerError>) -> Response {
    let mut res = r.unwrap_or_else(IntoResponse::into_response);
    res.extensions_mut().insert(TenantTag(tenant.name.clone()));
    res
}

// ----- limits and capabilities ------------------------------------------------------------

/// The limits of a request: the tenant's defaults with the fields the request gives. The
/// server *refuses*: over the tenant's maxima the request fails with 422 `limit_exceeded`
/// naming the field ([`Limits::within`]), never clamped; a bad value is 422
/// `invalid_request`.
pub(crate) fn resolve_limits(t: &Tenant, asked: &RequestLimits) -> Result<Limits, ServerError> {
    let asked = asked.overrides().map_err(|e| ServerError::invalid(e.to_string()))?;
    let l = asked.apply(&t.default_limits);
    l.within(&t.max_limits).map_err(|e| ServerError::Unprocessable {
        kind: "limit_exceeded",
        message: format!("{} {} is above this tenant's maximum of {}", e.field, e.requested, e.max),
    })?;
    Ok(l)
}

/// The canonical names of the requested packs (`all`: every pack), each known (422
/// `unknown_capability`) and allowed for the tenant (422 `capability_not_allowed`).
pub(crate) fn resolve_capabilities(t: &Tenant, asked: &[String]) -> Result<Vec<String>, ServerError> {
    let mut out: Vec<String> = Vec::new();
    for name in asked {
        let packs: Vec<&'static str> = if name == "all" {
            sandvm::PACK_NAMES.to_vec()
        } else {
            match canonical_pack(name) {
                Some(p) => vec![p],
                None => {
                    return Err(ServerError::Unprocessable {
                        kind: "unknown_capability",
                        message: format!("unknown capability {name:?} (known: {}, all)", sandvm::PACK_NAMES.join(", ")),
                    })
                }
            }
        };
        for p in packs {
            if !t.capabilities.contains(&p) {
                return Err(ServerError::Unprocessable {
                    kind: "capability_not_allowed",
                    message: format!("capability {p:?} is not allowed for this tenant"),
                });
            }
            if !out.iter().any(|o| o == p) {
                out.push(p.to_string());
            }
        }
    }
    Ok(out)
}

/// A queued job of the tenant with the request's limits, globals and capabilities.
fn queued(
    tenant: &Tenant,
    body: JobBody,
    limits: Limits,
    globals: Option<serde_json::Map<String, JsonValue>>,
    capabilities: Vec<String>,
) -> Result<QueuedJob, ServerError> {
    let mut job = QueuedJob::new(tenant.name.clone(), body, limits)?;
    job.globals = globals.map(JsonValue::Object);
    job.capabilities = capabilities;
    Ok(job)
}

/// Admits a job for the tenant: when the store keeps the quotas, checks the tenant's CPU
/// budget window there (429 `cpu_budget` with `Retry-After` when it is spent), then takes a
/// token from the tenant's bucket there (429 `rate` with `Retry-After` when it is empty); 503
/// when the store is unreachable. The same errors as the pool's own quotas give on one node.
/// Returns the admission time (milliseconds since the epoch).
async fn admit(state: &AppState, tenant: &Tenant) -> Result<u64, ServerError> {
    let started = now_ms();
    let shared = state.0.store.is_shared();
    if let (true, Some(budget)) = (shared, tenant.pool.cpu_budget) {
        if let Admission::Refused { retry_after } = state.0.store.charge_cpu(&tenant.name, budget, 0.0).await? {
            return Err(cpu_quota(retry_after));
        }
    }
    if let (true, Some(rate)) = (shared, tenant.pool.rate) {
        if let Admission::Refused { retry_after } = state.0.store.take_rate_token(&tenant.name, rate).await? {
            return Err(rate_quota(retry_after));
        }
    }
    Ok(started)
}

/// Charges an admitted job's CPU time to the tenant's CPU budget window in the store (when
/// the store keeps the quotas and the tenant has a budget; a job ended at its hard deadline
/// is charged its wall-clock time, as the pool reports it), then appends the job's end to the
/// execution log. A store failure is logged, not returned: the run happened and its answer
/// goes back to the client.
async fn log_run(
    state: &AppState,
    tenant: &Tenant,
    job_kind: &str,
    started_ms: u64,
    result: Result<&sandvm_pool::Outcome, &ServerError>,
) {
    if let (true, Some(budget), Ok(o)) = (state.0.store.is_shared(), tenant.pool.cpu_budget, result) {
        if let Err(e) = state.0.store.charge_cpu(&tenant.name, budget, o.report.stats.cpu_ms).await {
            counter!(telemetry::names::CPU_CHARGE_FAILURES).increment(1);
            tracing::warn!(error = %e, tenant = %tenant.name, "CPU budget: the store refused the charge");
        }
    }
    let (outcome, wall_ms, cpu_ms, queue_ms) = match result {
        Ok(o) => {
            (o.error_kind().unwrap_or("ok").to_string(), o.report.stats.wall_ms, o.report.stats.cpu_ms, o.queue_ms)
        }
        Err(e) => (e.kind().to_string(), 0.0, 0.0, 0.0),
    };
    let record = match new_id_with("x_") {
        Ok(id) => ExecutionRecord {
            id,
            tenant: tenant.name.clone(),
            job_kind: job_kind.to_string(),
            outcome,
            started_ms,
            wall_ms,
            cpu_ms,
            queue_ms,
        },
        Err(e) => {
            tracing::warn!(error = %e, "execution log: no id");
            return;
        }
    };
    if let Err(e) = state.0.store.log_execution(record).await {
        counter!(telemetry::names::EXECUTION_LOG_FAILURES).increment(1);
        tracing::warn!(error = %e, tenant = %tenant.name, "execution log: the store refused the record");
    }
}

/// Runs an admitted job through the queue, logs it, and answers with its report (200,
/// whatever the guest did).
async fn run_job(
    state: &AppState,
    tenant: &Tenant,
    job_kind: &str,
    started_ms: u64,
    job: QueuedJob,
) -> Result<Response, ServerError> {
    let out = state.0.queue.run(job).await;
    log_run(state, tenant, job_kind, started_ms, out.as_ref()).await;
    let out = out?;
    let kind = out.error_kind().unwrap_or("ok").to_string();
    let mut res = Json(out.report).into_response();
    res.extensions_mut().insert(RunOutcome(kind));
    Ok(res)
}

// ----- handlers ---------------------------------------------------------------------------

async fn playground() -> Response {
    let mut res = ([(CONTENT_TYPE, "text/html; charset=utf-8")], PLAYGROUND_HTML).into_response();
    let h = res.headers_mut();
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    res
}

async fn healthz() -> Json<JsonValue> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let stats = state.0.pool.stats();
    let draining = state.is_draining() || !stats.accepting;
    // Thread mode: at the cap of abandoned guest threads, submissions get 503 `saturated`.
    let saturated = stats.isolation == sandvm_pool::Isolation::Thread
        && stats.process_abandoned_threads >= stats.max_abandoned_threads;
    let queue_down = state.0.queue.unavailable();
    let status = if draining {
        "draining"
    } else if saturated {
        "saturated"
    } else if queue_down.is_some() {
        "queue_unavailable"
    } else {
        "ready"
    };
    let body = json!({
        "status": status,
        "workers": stats.workers,
        "queued": stats.queued,
        "running": stats.running,
        "abandoned_threads": stats.process_abandoned_threads,
        "max_abandoned_threads": stats.max_abandoned_threads,
        "queue": {"kind": state.0.queue.kind(), "pending": state.0.queue.pending(), "unavailable": queue_down},
    });
    if draining || saturated || queue_down.is_some() {
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    } else {
        Json(body).into_response()
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    telemetry::record_pool(&state.0.pool.stats());
    let text = telemetry::prometheus().render();
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

async fn limits(State(state): State<AppState>, Caller(t): Caller) -> Response {
    let body = LimitsResponse {
        tenant: t.name.clone(),
        policy: "refuse".into(),
        defaults: t.default_limits.clone(),
        maxima: t.max_limits.clone(),
        capabilities: t.capabilities.iter().map(|c| c.to_string()).collect(),
        modules: t.pool.modules.keys().cloned().collect(),
        quotas: t.quotas.clone(),
        max_scripts: t.max_scripts,
        body_limit_bytes: state.body_limit(),
    };
    tagged(&t, Ok(Json(body).into_response()))
}

async fn execute(State(state): State<AppState>, Caller(t): Caller, ApiJson(req): ApiJson<ExecuteRequest>) -> Response {
    let r = async {
        let limits = resolve_limits(&t, &req.limits)?;
        let caps = resolve_capabilities(&t, &req.capabilities)?;
        let body = if req.module { JobBody::Module { code: req.code } } else { JobBody::Source { code: req.code } };
        let mut job = queued(&t, body, limits, req.globals, caps)?;
        job.language = req.language;
        let started = admit(&state, &t).await?;
        run_job(&state, &t, "execute", started, job).await
    }
    .await;
    tagged(&t, r)
}

async fn create_script(
    State(state): State<AppState>,
    Caller(t): Caller,
    ApiJson(req): ApiJson<CreateScriptRequest>,
) -> Response {
    let r = async {
        let default_name = if req.language == sandvm::Language::TypeScript { "script.ts" } else { "script.js" };
        let filename = req.filename.unwrap_or_else(|| default_name.into());
        if filename.is_empty() || filename.len() > 256 || filename.chars().any(char::is_control) {
            return Err(ServerError::invalid("filename must be 1 to 256 printable characters"));
        }
        // A cheap early refusal; the store's insert enforces the quota atomically.
        if state.0.store.count(&t.name).await? >= t.max_scripts {
            return Err(crate::store::scripts_quota(t.max_scripts));
        }
        let record = ScriptRecord {
            id: new_id()?,
            tenant: t.name.clone(),
            code: req.code,
            filename: filename.clone(),
            strict: req.strict,
            language: req.language,
            created_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        };
        let body = stored_body(&record);
        state.0.queue.check_script(&t.name, &record.id, &body).await?;
        if let Err(e) = state.0.store.insert(record.clone(), t.max_scripts).await {
            state.0.queue.forget_script(&t.name, &record.id);
            return Err(e);
        }
        let body = CreateScriptResponse { id: record.id, filename };
        Ok((StatusCode::CREATED, Json(body)).into_response())
    }
    .await;
    tagged(&t, r)
}

/// The job body of a stored script.
fn stored_body(record: &ScriptRecord) -> JobBody {
    JobBody::Stored {
        script_id: record.id.clone(),
        code: record.code.clone(),
        filename: record.filename.clone(),
        strict: record.strict,
        language: record.language,
    }
}

async fn run_script(
    State(state): State<AppState>,
    Caller(t): Caller,
    Path(id): Path<String>,
    OptionalJson(req): OptionalJson<RunScriptRequest>,
) -> Response {
    let r = async {
        let limits = resolve_limits(&t, &req.limits)?;
        let caps = resolve_capabilities(&t, &req.capabilities)?;
        // The source goes in the job (workers need no store); the in-process queue compiles
        // it into this server's pool once and reuses it. Reading the store on every run also
        // answers 404 for a script another node deleted.
        let Some(record) = state.0.store.get(&t.name, &id).await? else {
            return Err(ServerError::NotFound(format!("no script {id:?}")));
        };
        let job = queued(&t, stored_body(&record), limits, req.globals, caps)?;
        let started = admit(&state, &t).await?;
        run_job(&state, &t, "script", started, job).await
    }
    .await;
    tagged(&t, r)
}

async fn delete_script(State(state): State<AppState>, Caller(t): Caller, Path(id): Path<String>) -> Response {
    let r = async {
        if !state.0.store.remove(&t.name, &id).await? {
            return Err(ServerError::NotFound(format!("no script {id:?}")));
        }
        state.0.queue.forget_script(&t.name, &id);
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    tagged(&t, r)
}

async fn render_template(
    State(state): State<AppState>,
    Caller(t): Caller,
    ApiJson(req): ApiJson<RenderRequest>,
) -> Response {
    let r = async {
        if state.is_draining() {
            return Err(ServerError::ShuttingDown);
        }
        let limits = resolve_limits(&t, &req.limits)?;
        let data = match req.data {
            None | Some(JsonValue::Null) => JsonValue::Null,
            Some(d @ JsonValue::Object(_)) => d,
            Some(_) => {
                return Err(ServerError::BadRequest("invalid request: field `data`: expected a JSON object".into()))
            }
        };
        // A pool job like any other: the tenant's quotas, CPU budget, isolation mode and the
        // watchdog apply to it.
        let job = TemplateJob {
            template: req.template,
            partials: req.partials,
            helpers: req.helpers,
            data,
            options: req.options,
            runtime: req.runtime,
        };
        let job = QueuedJob::new(t.name.clone(), JobBody::Template { render: Box::new(job) }, limits)?;
        let started = admit(&state, &t).await?;
        let outcome = state.0.queue.run(job).await;
        log_run(&state, &t, "template", started, outcome.as_ref()).await;
        let outcome = match outcome {
            Ok(o) => o,
            Err(err) => {
                counter!(telemetry::names::TEMPLATE_RENDERS, "tenant" => t.name.clone(), "outcome" => err.kind())
                    .increment(1);
                return Err(err);
            }
        };
        let report = outcome.report;
        let body = match report.error {
            None => RenderResponse {
                status: "ok".into(),
                output: Some(report.value.as_str().unwrap_or_default().to_string()),
                error: None,
                wall_ms: report.stats.wall_ms,
            },
            Some(e) => RenderResponse {
                status: "error".into(),
                output: None,
                error: Some(RenderError { kind: e.kind, message: e.message, line: e.line, column: e.column }),
                wall_ms: report.stats.wall_ms,
            },
        };
        let outcome = body.error.as_ref().map_or("ok".to_string(), |e| e.kind.clone());
        counter!(telemetry::names::TEMPLATE_RENDERS, "tenant" => t.name.clone(), "outcome" => outcome.clone())
            .increment(1);
        let mut res = Json(body).into_response();
        res.extensions_mut().insert(RunOutcome(outcome));
        Ok(res)
    }
    .await;
    tagged(&t, r)
}
