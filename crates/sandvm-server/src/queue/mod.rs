//! The job queue: how an API node hands a job to whatever runs it and gets back its one result.
//!
//! [`JobQueue`] has exactly two implementations:
//!
//! - [`InProcessQueue`] (the default, `sandvm serve` alone): the job runs in this process's
//!   [`sandvm_pool::Pool`], as it always did.
//! - [`nats::NatsQueue`] (`sandvm serve --queue nats://HOST:PORT`): the job is published to a
//!   NATS JetStream work-queue stream and run by a worker node (`sandvm worker --queue ...`,
//!   [`nats::WorkerNode::run`]); its result comes back to the API node that is waiting for it. The
//!   delivery semantics (explicit acks, leases, bounded redelivery, `worker_lost`, exactly one
//!   answer per job, back-pressure, 503 while the broker is down) are documented in [`nats`].
//!
//! The wire format is JSON (serde) of a [`QueuedJob`] and of a [`JobResult`]. A job carries
//! its already-resolved limits (the API node refused anything above the tenant's maxima); the
//! worker's pool clamps them to its own tenant maxima anyway.

#[cfg(feature = "nats")]
pub mod nats;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandvm::{Language, Limits};
use sandvm_pool::{Job, JobKind, Outcome, Pool, PoolError, ScriptId, ScriptOptions, TemplateJob};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::ServerError;

/// A boxed future returned by [`JobQueue`] methods.
pub type QueueFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ServerError>> + Send + 'a>>;

/// What a queued job runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobBody {
    /// A classic script (`POST /v1/execute`).
    Source {
        /// The source text.
        code: String,
    },
    /// An ES module named `main.mjs` (`POST /v1/execute` with `module`).
    Module {
        /// The module source text.
        code: String,
    },
    /// A stored script (`POST /v1/scripts/{id}/run`). The API node reads the source from its
    /// [`crate::ScriptStore`] and puts it here: workers need no store.
    Stored {
        /// The script's public id (`s_...`).
        script_id: String,
        /// Its source.
        code: String,
        /// Its file name in stack traces.
        filename: String,
        /// Compiled in strict mode.
        strict: bool,
        /// Its language (JavaScript when absent from the wire: older API nodes).
        #[serde(default)]
        language: Language,
    },
    /// A template render (`POST /v1/templates/render`).
    Template {
        /// The render.
        render: Box<TemplateJob>,
    },
}

/// One job on the queue: the wire format (JSON) of what an API node asks a worker to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedJob {
    /// A unique id (the API node answers the first result with this id, drops the rest).
    pub id: String,
    /// The tenant (the worker's pool keeps tenants apart exactly as the API node's would).
    pub tenant: String,
    /// What to run.
    pub body: JobBody,
    /// The resolved limits (within the tenant's maxima).
    pub limits: Limits,
    /// Globals set before the code runs (a JSON object), if any.
    pub globals: Option<Json>,
    /// Canonical names of the granted capability packs.
    pub capabilities: Vec<String>,
    /// The source's language (for `source` and `module` bodies; a stored script carries its
    /// own in [`JobBody::Stored`]).
    pub language: Language,
}

impl QueuedJob {
    /// A job with a fresh random id, no globals, no capabilities, JavaScript.
    ///
    /// # Errors
    /// [`ServerError::Internal`] when the system has no random source.
    pub fn new(tenant: impl Into<String>, body: JobBody, limits: Limits) -> Result<QueuedJob, ServerError> {
        Ok(QueuedJob {
            id: new_job_id()?,
            tenant: tenant.into(),
            body,
            limits,
            globals: None,
            capabilities: Vec::new(),
            language: Language::default(),
        })
    }

    /// The pool job this queued job stands for (a stored script runs as its source, with its
    /// file name and strictness).
    pub fn to_pool_job(&self) -> Job {
        let mut job = match &self.body {
            JobBody::Source { code } => Job::source(code.as_str()).with_language(self.language),
            JobBody::Module { code } => Job::module(code.as_str()).with_language(self.language),
            JobBody::Stored { code, filename, strict, language, .. } => {
                let mut j = Job::source(code.as_str()).with_language(*language);
                if let JobKind::Source { filename: f, .. } = &mut j.kind {
                    f.clone_from(filename);
                }
                j.options.strict = *strict;
                j
            }
            JobBody::Template { render } => Job::template((**render).clone()),
        };
        job = job.with_limits(self.limits.clone());
        if let Some(g) = &self.globals {
            job = job.with_globals(g.clone());
        }
        if !self.capabilities.is_empty() {
            job = job.with_capabilities(self.capabilities.clone());
        }
        job
    }

    /// How long a worker may hold the job: its timeout, plus the engine's grace for it
    /// ([`sandvm::grace_for`]), plus `margin` (the pool's hard-deadline margin and slack).
    /// A job without a timeout gets `fallback` instead of a timeout.
    pub fn lease(&self, margin: Duration, fallback: Duration) -> Duration {
        let t = self.limits.timeout.unwrap_or(fallback);
        t + sandvm::grace_for(t) + margin
    }
}

/// The result of a queued job, as it travels back (JSON): the outcome of a run (a guest error
/// is an outcome too), or the typed error of a job that was refused or could not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// The job's id ([`QueuedJob::id`]).
    pub job_id: String,
    /// The outcome, or why there is none.
    pub result: Result<Outcome, WireError>,
}

/// A [`ServerError`] as it crosses the wire: its kind, message and, for quotas, the reason
/// and retry delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    /// [`ServerError::kind`].
    pub kind: String,
    /// The message.
    pub message: String,
    /// The quota's name for `quota_exceeded`.
    #[serde(default)]
    pub reason: Option<String>,
    /// When retrying may help, in milliseconds.
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
}

impl From<&ServerError> for WireError {
    fn from(e: &ServerError) -> WireError {
        let (reason, retry_after_ms) = match e {
            ServerError::QuotaExceeded { reason, retry_after, .. } => {
                (Some(reason.clone()), retry_after.map(|d| d.as_millis() as u64))
            }
            _ => (None, None),
        };
        let message = match e {
            ServerError::QuotaExceeded { message, .. } => message.clone(),
            other => other.to_string(),
        };
        WireError { kind: e.kind().to_string(), message, reason, retry_after_ms }
    }
}

impl From<WireError> for ServerError {
    fn from(w: WireError) -> ServerError {
        // Kinds a worker can send back; anything else is an internal error of the worker.
        const UNPROCESSABLE: &[&str] =
            &["invalid_request", "limit_exceeded", "unknown_capability", "capability_not_allowed", "syntax_error"];
        match w.kind.as_str() {
            "quota_exceeded" => ServerError::QuotaExceeded {
                reason: w.reason.unwrap_or_else(|| "quota".into()),
                message: w.message,
                retry_after: w.retry_after_ms.map(Duration::from_millis),
            },
            "not_found" => ServerError::NotFound(w.message),
            "busy" => ServerError::Busy,
            "worker_crashed" => ServerError::Internal { kind: "worker_crashed", message: w.message },
            "worker_lost" => ServerError::Internal { kind: "worker_lost", message: w.message },
            k => match UNPROCESSABLE.iter().find(|u| **u == k) {
                Some(kind) => ServerError::Unprocessable { kind, message: w.message },
                None => ServerError::internal(w.message),
            },
        }
    }
}

/// Where an API node's jobs go. Submit a job, get back its one result.
///
/// Implementations: [`InProcessQueue`] (this process's pool) and [`nats::NatsQueue`]
/// (NATS JetStream and worker nodes).
pub trait JobQueue: Send + Sync + 'static {
    /// Runs `job` and returns its one result: the outcome of the run (a guest error is a
    /// successful outcome with `status: "error"`).
    ///
    /// # Errors
    /// A typed [`ServerError`]: a quota (429), 503 `busy` (the queue is over its depth),
    /// 503 `queue_unavailable` (the broker is down), 500 `worker_lost` (the job's workers
    /// died `max_deliver` times, or no result came in time), and the pool's own errors.
    fn run(&self, job: QueuedJob) -> QueueFuture<'_, Outcome>;

    /// Checks that a stored script compiles, before it is stored (and, in process, compiles
    /// it into the pool once for later runs).
    ///
    /// # Errors
    /// 422 `syntax_error`.
    fn check_script<'a>(&'a self, tenant: &'a str, script_id: &'a str, body: &'a JobBody) -> QueueFuture<'a, ()>;

    /// Forgets what the queue keeps about a deleted stored script.
    fn forget_script(&self, tenant: &str, script_id: &str);

    /// `in_process` or `nats`.
    fn kind(&self) -> &'static str;

    /// Why the queue cannot take jobs now (for `GET /readyz`), or `None` when it can.
    fn unavailable(&self) -> Option<String>;

    /// Jobs this node submitted that the queue accepted and that are not answered yet.
    fn pending(&self) -> usize;
}

/// The in-process queue: jobs run in this process's pool (`sandvm serve` alone).
pub struct InProcessQueue {
    pool: Arc<Pool>,
    /// Stored scripts compiled into the pool: (tenant, script id) → pool id.
    compiled: Mutex<HashMap<(String, String), ScriptId>>,
    pending: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for InProcessQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessQueue").finish_non_exhaustive()
    }
}

impl InProcessQueue {
    /// A queue onto `pool`.
    pub fn new(pool: Arc<Pool>) -> InProcessQueue {
        InProcessQueue { pool, compiled: Mutex::new(HashMap::new()), pending: Default::default() }
    }

    fn compiled(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), ScriptId>> {
        self.compiled.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Compiles a stored script into the pool (on a blocking thread: compiling is CPU work).
    async fn compile(&self, tenant: &str, code: &str, filename: &str, strict: bool) -> Result<ScriptId, ServerError> {
        let pool = self.pool.clone();
        let (tenant, code) = (tenant.to_string(), code.to_string());
        let options = ScriptOptions { filename: filename.to_string(), strict };
        let r = tokio::task::spawn_blocking(move || pool.register_script(&tenant, &code, options))
            .await
            .map_err(|e| ServerError::internal(format!("the compiler task failed: {e}")))?;
        r.map_err(|e| match e {
            PoolError::InvalidJob(m) => ServerError::Unprocessable { kind: "syntax_error", message: m },
            other => other.into(),
        })
    }

    async fn run_inner(&self, job: QueuedJob) -> Result<Outcome, ServerError> {
        let pool_job = match &job.body {
            // TypeScript runs as source (the pool's compiled scripts are JavaScript): the
            // transform is cheap next to a run, and positions map back to the TypeScript.
            JobBody::Stored { language: Language::TypeScript, .. } => job.to_pool_job(),
            JobBody::Stored { script_id, code, filename, strict, .. } => {
                let key = (job.tenant.clone(), script_id.clone());
                let known = self.compiled().get(&key).copied();
                let sid = match known {
                    Some(sid) => sid,
                    None => {
                        let sid = self.compile(&job.tenant, code, filename, *strict).await?;
                        self.compiled().insert(key, sid);
                        sid
                    }
                };
                let mut j = job.to_pool_job();
                j.kind = JobKind::Script(sid);
                j
            }
            _ => job.to_pool_job(),
        };
        Ok(self.pool.execute(&job.tenant, pool_job).await?)
    }
}

/// Counts a job as pending while it lives.
struct PendingGuard<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> PendingGuard<'a> {
    fn new(n: &'a std::sync::atomic::AtomicUsize) -> Self {
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        PendingGuard(n)
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl JobQueue for InProcessQueue {
    fn run(&self, job: QueuedJob) -> QueueFuture<'_, Outcome> {
        Box::pin(async move {
            let _pending = PendingGuard::new(&self.pending);
            self.run_inner(job).await
        })
    }

    fn check_script<'a>(&'a self, tenant: &'a str, script_id: &'a str, body: &'a JobBody) -> QueueFuture<'a, ()> {
        Box::pin(async move {
            let JobBody::Stored { code, filename, strict, language, .. } = body else {
                return Err(ServerError::internal("check_script needs a stored script"));
            };
            if *language != Language::JavaScript {
                return check_syntax(code, filename, *strict, *language).await;
            }
            let sid = self.compile(tenant, code, filename, *strict).await?;
            self.compiled().insert((tenant.to_string(), script_id.to_string()), sid);
            Ok(())
        })
    }

    fn forget_script(&self, tenant: &str, script_id: &str) {
        let sid = self.compiled().remove(&(tenant.to_string(), script_id.to_string()));
        if let Some(sid) = sid {
            self.pool.unregister_script(tenant, sid);
        }
    }

    fn kind(&self) -> &'static str {
        "in_process"
    }

    fn unavailable(&self) -> Option<String> {
        None
    }

    fn pending(&self) -> usize {
        self.pending.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Checks a stored script's syntax on a blocking thread (TypeScript: the transform and the
/// compile of its output; positions are the TypeScript source's).
pub(crate) async fn check_syntax(
    code: &str,
    filename: &str,
    strict: bool,
    language: Language,
) -> Result<(), ServerError> {
    let (code, filename) = (code.to_string(), filename.to_string());
    let r = tokio::task::spawn_blocking(move || sandvm::check_syntax(&code, &filename, strict, language))
        .await
        .map_err(|e| ServerError::internal(format!("the compiler task failed: {e}")))?;
    r.map_err(|e| ServerError::Unprocessable { kind: "syntax_error", message: e.to_string() })
}

/// A random job id: `j_` and 24 hex digits.
fn new_job_id() -> Result<String, ServerError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| ServerError::internal(format!("no random source: {e}")))?;
    let mut s = String::from("j_");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_and_results_round_trip_as_json() {
        let mut job = QueuedJob::new(
            "acme",
            JobBody::Stored {
                script_id: "s_1".into(),
                code: "x + 1".into(),
                filename: "a.js".into(),
                strict: true,
                language: Language::TypeScript,
            },
            Limits { timeout: Some(Duration::from_millis(250)), memory: 8 << 20, ..Default::default() },
        )
        .expect("id");
        job.globals = Some(serde_json::json!({"x": 41}));
        job.capabilities = vec!["text".into()];
        let text = serde_json::to_string(&job).expect("serialise");
        let back: QueuedJob = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, job);
        let pool_job = back.to_pool_job();
        assert!(pool_job.options.strict);
        assert_eq!(pool_job.options.language, Language::TypeScript);
        // A stored body from an older API node (no `language`) is JavaScript.
        let old: JobBody = serde_json::from_value(serde_json::json!(
            {"type": "stored", "script_id": "s_2", "code": "1", "filename": "b.js", "strict": false}
        ))
        .expect("an older body");
        assert!(matches!(old, JobBody::Stored { language: Language::JavaScript, .. }));
        match &pool_job.kind {
            JobKind::Source { source, filename } => assert_eq!((&**source, filename.as_str()), ("x + 1", "a.js")),
            other => panic!("{other:?}"),
        }
        assert_eq!(pool_job.limits.and_then(|l| l.timeout), Some(Duration::from_millis(250)));
        // The lease covers the timeout, the engine's grace and the margin.
        assert_eq!(
            job.lease(Duration::from_secs(1), Duration::from_secs(30)),
            Duration::from_millis(250) + sandvm::grace_for(Duration::from_millis(250)) + Duration::from_secs(1)
        );
        let r = JobResult {
            job_id: job.id.clone(),
            result: Err(WireError::from(&ServerError::QuotaExceeded {
                reason: "rate".into(),
                message: "slow down".into(),
                retry_after: Some(Duration::from_millis(1500)),
            })),
        };
        let back: JobResult = serde_json::from_str(&serde_json::to_string(&r).expect("ser")).expect("parse");
        let Err(w) = back.result else { panic!("an error") };
        match ServerError::from(w) {
            ServerError::QuotaExceeded { reason, retry_after, .. } => {
                assert_eq!((reason.as_str(), retry_after), ("rate", Some(Duration::from_millis(1500))))
            }
            other => panic!("{other:?}"),
        }
        let e = ServerError::from(WireError::from(&ServerError::Unprocessable {
            kind: "limit_exceeded",
            message: "too much".into(),
        }));
        assert_eq!((e.kind(), e.to_string().as_str()), ("limit_exceeded", "too much"));
        assert_eq!(ServerError::from(WireError::from(&ServerError::internal("x"))).kind(), "internal");
    }

    #[test]
    fn ids_are_unique() {
        let a = new_job_id().expect("id");
        let b = new_job_id().expect("id");
        assert_ne!(a, b);
        assert!(a.starts_with("j_") && a.len() == 26, "{a}");
    }
}
