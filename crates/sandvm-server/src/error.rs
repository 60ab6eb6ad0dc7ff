//! The one error type of the server: configuration and start-up failures, and every typed
//! rejection an HTTP request can get (rendered as `{"error":{"kind","message"}}`).

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sandvm_pool::PoolError;

/// `Retry-After` (seconds) of a 503 `saturated`.
const SATURATED_RETRY_AFTER_SECS: u64 = 5;

/// Everything that can go wrong in the server.
///
/// The request-level variants map to one HTTP status each ([`ServerError::status`]) and to a
/// stable machine-readable `kind` ([`ServerError::kind`]). A guest error (syntax error,
/// exception, limit hit) is not a `ServerError`: it is a `200` whose report has
/// `status: "error"`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration is invalid; `path` names the field (`tenants[0].max_limits.memory_mb`).
    #[error("configuration error at {path}: {message}")]
    Config {
        /// Where in the configuration (`.` for the whole document).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An I/O error while starting or running the server (reading the configuration, binding
    /// the listener).
    #[error("{context}: {source}")]
    Io {
        /// What the server was doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// 400: the body is not JSON, or a field has the wrong type (the message names the field).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no API key, or an unknown one.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: no such route, or no such script for this tenant.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 413: the body is over the configured limit.
    #[error("the request body is over the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body is not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the request is well-formed but invalid: a negative or zero limit, a limit above
    /// the tenant's maximum (`limit_exceeded`), an unknown or refused capability, a script
    /// that does not compile.
    #[error("{message}")]
    Unprocessable {
        /// `invalid_request`, `limit_exceeded`, `unknown_capability`, `capability_not_allowed`,
        /// `syntax_error`.
        kind: &'static str,
        /// What is wrong.
        message: String,
    },
    /// 429: the tenant is over a quota. `retry_after` becomes the `Retry-After` header.
    #[error("quota exceeded ({reason}): {message}")]
    QuotaExceeded {
        /// Which quota (`rate`, `cpu_budget`, `max_queued`, `max_scripts`, ...).
        reason: String,
        /// A human-readable message.
        message: String,
        /// When trying again may succeed.
        retry_after: Option<Duration>,
    },
    /// 503: the pool (or the template renderers) are saturated beyond their queue.
    #[error("the server is saturated, try again later")]
    Busy,
    /// 503: too many guest threads were abandoned at their hard deadline and still run (a
    /// guest stuck in one long builtin cannot be stopped in thread mode); new work is refused
    /// until some of them end. `Retry-After` is set.
    #[error("the server is saturated: {abandoned} guest threads stuck past their deadline are still running (cap {max}); try again later")]
    Saturated {
        /// Abandoned guest threads still running.
        abandoned: usize,
        /// The cap (`pool.max_abandoned_threads`).
        max: usize,
    },
    /// 503: the server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// 503: the store (the database) cannot be reached in time, or is busy (a connection or
    /// statement timeout, a lost connection, a SQLite database locked for longer than its busy
    /// timeout). Transient: `Retry-After` is set.
    #[error("the store is unavailable: {message}")]
    StoreUnavailable {
        /// What failed (never guest code or keys).
        message: String,
    },
    /// The store cannot be used: the data directory is not a usable directory, the database
    /// file is not a database or is corrupt, another process holds it locked while it opens,
    /// or the database refused a statement. 500 when it reaches a request.
    #[error("{message}")]
    Store {
        /// `store_io` (the data directory or file), `store_corrupt` (not a database, or a
        /// damaged one), `store_locked` (locked by another process while opening), `store`
        /// (any other database error).
        kind: &'static str,
        /// What is wrong, naming the path or the database.
        message: String,
    },
    /// The database's schema is newer than this build knows (a newer sandvm migrated it): the
    /// store refuses to open rather than misread it.
    #[error("the store's schema is version {found}, newer than the {supported} this sandvm supports; upgrade sandvm")]
    StoreSchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// 503 `queue_unavailable`: the job queue's broker cannot be reached (or did not take the
    /// job in time); also the start-up error of a node whose broker is unreachable.
    /// `Retry-After` is set.
    #[error("the job queue is unavailable: {0}")]
    QueueUnavailable(String),
    /// 500: a failure of the server itself (a worker crashed, a queued job's workers were
    /// lost, an internal invariant).
    #[error("{message}")]
    Internal {
        /// `worker_crashed`, `worker_lost`, `internal`.
        kind: &'static str,
        /// What happened (never guest code or keys).
        message: String,
    },
}

impl ServerError {
    /// A `422 invalid_request`.
    pub fn invalid(message: impl Into<String>) -> ServerError {
        ServerError::Unprocessable { kind: "invalid_request", message: message.into() }
    }

    /// A `500 internal`.
    pub fn internal(message: impl Into<String>) -> ServerError {
        ServerError::Internal { kind: "internal", message: message.into() }
    }

    /// The HTTP status of a request-level error (500 for configuration and I/O errors).
    pub fn status(&self) -> StatusCode {
        match self {
            ServerError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServerError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ServerError::NotFound(_) => StatusCode::NOT_FOUND,
            ServerError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ServerError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ServerError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ServerError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ServerError::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServerError::Busy
            | ServerError::Saturated { .. }
            | ServerError::ShuttingDown
            | ServerError::StoreUnavailable { .. }
            | ServerError::QueueUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::Config { .. }
            | ServerError::Io { .. }
            | ServerError::Internal { .. }
            | ServerError::Store { .. }
            | ServerError::StoreSchemaTooNew { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable kind: `bad_request`, `unauthorized`, `not_found`,
    /// `method_not_allowed`, `payload_too_large`, `unsupported_media_type`, the kinds of
    /// [`ServerError::Unprocessable`], `quota_exceeded`, `busy`, `saturated`, `shutting_down`,
    /// `queue_unavailable`, `worker_crashed`, `worker_lost`, `internal`, `config`, `io`,
    /// `store_unavailable`, the kinds of [`ServerError::Store`], `store_schema_too_new`.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerError::Config { .. } => "config",
            ServerError::Io { .. } => "io",
            ServerError::BadRequest(_) => "bad_request",
            ServerError::Unauthorized(_) => "unauthorized",
            ServerError::NotFound(_) => "not_found",
            ServerError::MethodNotAllowed => "method_not_allowed",
            ServerError::PayloadTooLarge { .. } => "payload_too_large",
            ServerError::UnsupportedMediaType(_) => "unsupported_media_type",
            ServerError::Unprocessable { kind, .. } => kind,
            ServerError::QuotaExceeded { .. } => "quota_exceeded",
            ServerError::Busy => "busy",
            ServerError::Saturated { .. } => "saturated",
            ServerError::ShuttingDown => "shutting_down",
            ServerError::QueueUnavailable(_) => "queue_unavailable",
            ServerError::Internal { kind, .. } => kind,
            ServerError::StoreUnavailable { .. } => "store_unavailable",
            ServerError::Store { kind, .. } => kind,
            ServerError::StoreSchemaTooNew { .. } => "store_schema_too_new",
        }
    }
}

impl From<PoolError> for ServerError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::QuotaExceeded { reason, retry_after: None, .. } if reason == "memory_cap" => {
                ServerError::Unprocessable {
                    kind: "limit_exceeded",
                    message: "the job's memory limit is above the tenant's memory cap".into(),
                }
            }
            PoolError::QuotaExceeded { reason, retry_after, .. } => {
                let message = format!("the tenant is over its {reason} quota");
                ServerError::QuotaExceeded { reason, message, retry_after }
            }
            PoolError::Busy => ServerError::Busy,
            PoolError::Saturated { abandoned, max } => ServerError::Saturated { abandoned, max },
            PoolError::ShuttingDown | PoolError::Cancelled => ServerError::ShuttingDown,
            PoolError::UnknownScript { .. } => ServerError::NotFound("no such script".into()),
            PoolError::InvalidJob(m) | PoolError::Unsupported(m) => ServerError::invalid(m),
            PoolError::WorkerCrashed(m) => ServerError::Internal { kind: "worker_crashed", message: m },
            other => ServerError::internal(other.to_string()),
        }
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({"error": {"kind": self.kind(), "message": self.to_string()}});
        let mut res = (status, axum::Json(body)).into_response();
        match &self {
            ServerError::QuotaExceeded { retry_after: Some(d), .. } => {
                // Whole seconds, rounded up, at least 1.
                let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            }
            ServerError::Busy
            | ServerError::ShuttingDown
            | ServerError::StoreUnavailable { .. }
            | ServerError::QueueUnavailable(_) => {
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            ServerError::Saturated { .. } => {
                // Stuck threads end on their own time; a few seconds is a fair first wait.
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(SATURATED_RETRY_AFTER_SECS));
            }
            ServerError::Unauthorized(_) => {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        res.extensions_mut().insert(crate::telemetry::Outcome(self.kind()));
        res
    }
}
