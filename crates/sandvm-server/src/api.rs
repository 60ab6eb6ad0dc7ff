//! Request and response bodies of the HTTP API, and the JSON body extractor with typed
//! rejections (400 naming the field, 413, 415).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::app::AppState;
use crate::config::LimitSettings;
use crate::ServerError;

/// `POST /v1/execute`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    /// The source: a classic script (sloppy, its completion value is the result) or, with
    /// `module`, an ES module (its exports are the result).
    pub code: String,
    /// Run `code` as an ES module named `main.mjs`. By default, `false`.
    #[serde(default)]
    pub module: bool,
    /// Wall-clock milliseconds, at least 1. By default, the tenant's default.
    pub timeout_ms: Option<i64>,
    /// Engine heap in MiB, at least 1. By default, the tenant's default.
    pub memory_mb: Option<i64>,
    /// Globals set before the code runs (deep copies).
    pub globals: Option<Map<String, Json>>,
    /// Capability packs to grant (`timers`, `text`, `base64`, `url`, `structured-clone`,
    /// `queue-microtask`, or `all`). By default, none.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// `POST /v1/scripts`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateScriptRequest {
    /// The source (a classic script).
    pub code: String,
    /// The file name in stack traces. By default, `script.js`.
    pub filename: Option<String>,
    /// Compile in strict mode. By default, `false`.
    #[serde(default)]
    pub strict: bool,
}

/// `POST /v1/scripts` response (201).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateScriptResponse {
    /// The script's id, to use in `POST /v1/scripts/{id}/run`.
    pub id: String,
    /// The file name.
    pub filename: String,
}

/// `POST /v1/scripts/{id}/run` (an empty body is the same as `{}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunScriptRequest {
    /// As in [`ExecuteRequest`].
    pub timeout_ms: Option<i64>,
    /// As in [`ExecuteRequest`].
    pub memory_mb: Option<i64>,
    /// As in [`ExecuteRequest`].
    pub globals: Option<Map<String, Json>>,
    /// As in [`ExecuteRequest`].
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// `POST /v1/templates/render`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderRequest {
    /// The Handlebars template source.
    pub template: String,
    /// The data the template renders. By default, `{}`.
    #[serde(default)]
    pub data: Option<Json>,
    /// Partials by name.
    #[serde(default)]
    pub partials: BTreeMap<String, String>,
    /// Helpers by name: JavaScript function sources (`function (s) { return ... }`).
    #[serde(default)]
    pub helpers: BTreeMap<String, String>,
    /// As in [`ExecuteRequest`].
    pub timeout_ms: Option<i64>,
    /// As in [`ExecuteRequest`].
    pub memory_mb: Option<i64>,
}

/// `POST /v1/templates/render` response (200 even when the template fails, like a guest
/// error of `/v1/execute`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderResponse {
    /// `ok` or `error`.
    pub status: String,
    /// The rendered text (`null` on error).
    pub output: Option<String>,
    /// The error (`null` on success).
    pub error: Option<RenderError>,
    /// Wall-clock milliseconds of the render.
    pub wall_ms: f64,
}

/// The error of a failed render.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderError {
    /// `parse`, `template`, `unknown_template`, `unknown_partial`, `unknown_helper`,
    /// `invalid_helper`, `too_complex` (a compile-time bound such as the nesting depth), or a
    /// sandbox error kind (`timeout`, `memory_limit`, `exception`, ...).
    pub kind: String,
    /// The message.
    pub message: String,
    /// 1-based line in the template, when known.
    pub line: Option<u32>,
    /// 1-based column in the template, when known.
    pub column: Option<u32>,
}

/// `GET /v1/limits`: the caller's effective limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LimitsResponse {
    /// The tenant.
    pub tenant: String,
    /// What happens to a request over the maxima: always `refuse` (422 `limit_exceeded`).
    pub policy: String,
    /// The limits of a request that gives none.
    pub defaults: LimitSettings,
    /// The most a request may ask for.
    pub maxima: LimitSettings,
    /// Capability packs the tenant may ask for.
    pub capabilities: Vec<String>,
    /// In-memory modules the tenant's module requests may import.
    pub modules: Vec<String>,
    /// Quotas.
    pub quotas: crate::config::QuotaSettings,
    /// Stored scripts the tenant may keep.
    pub max_scripts: usize,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
}

/// A JSON body: `Content-Type: application/json` (or `+json`) or 415, at most the configured
/// body limit or 413, valid JSON of the right shape or 400 naming the field.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// Parses a JSON body, naming the offending field in errors.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServerError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let what = if inner.is_syntax() || inner.is_eof() { "malformed JSON" } else { "invalid request" };
        if path == "." || path.is_empty() {
            ServerError::BadRequest(format!("{what}: {inner}"))
        } else {
            ServerError::BadRequest(format!("{what}: field `{path}`: {inner}"))
        }
    })?;
    de.end().map_err(|e| ServerError::BadRequest(format!("malformed JSON: {e}")))?;
    Ok(value)
}

fn is_json(ct: &str) -> bool {
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Reads the body (mapping the body limit to 413) after checking its content type (415),
/// unless the body is empty and `empty_ok`.
pub(crate) async fn read_body(req: Request, state: &AppState, empty_ok: bool) -> Result<Bytes, ServerError> {
    let ct = req.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap_or("").to_string());
    let limit = state.body_limit();
    let json = ct.as_deref().is_some_and(is_json);
    // Without a content type, only an empty body (where allowed) is accepted.
    let maybe_empty = empty_ok && ct.is_none();
    if !(json || maybe_empty) {
        return Err(ServerError::UnsupportedMediaType(match ct {
            Some(ct) => format!("expected Content-Type: application/json, got {ct:?}"),
            None => "expected Content-Type: application/json".into(),
        }));
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ServerError::PayloadTooLarge { limit }
        } else {
            ServerError::BadRequest(format!("cannot read the body: {rej}"))
        }
    })?;
    if !json && !bytes.is_empty() {
        // No content type is only fine for an empty body.
        return Err(ServerError::UnsupportedMediaType("expected Content-Type: application/json".into()));
    }
    Ok(bytes)
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ServerError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state, false).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Like [`ApiJson`], but an empty body (with no content type) is `T::default()`.
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ServerError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state, true).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        let e = parse_json::<ExecuteRequest>(br#"{"code": "1", "timeout_ms": "soon"}"#).expect_err("type");
        assert!(e.to_string().contains("`timeout_ms`"), "{e}");
        let e = parse_json::<ExecuteRequest>(br#"{"code": 1}"#).expect_err("type");
        assert!(e.to_string().contains("`code`"), "{e}");
        let e = parse_json::<ExecuteRequest>(br#"{"timeout_ms": 1}"#).expect_err("missing");
        assert!(e.to_string().contains("code"), "{e}");
        let e = parse_json::<ExecuteRequest>(br#"{"code": "1", "globals": [1]}"#).expect_err("type");
        assert!(e.to_string().contains("`globals`"), "{e}");
        let e = parse_json::<ExecuteRequest>(br#"{"code": "1", "capabilities": [1]}"#).expect_err("type");
        assert!(e.to_string().contains("`capabilities[0]`"), "{e}");
        let e = parse_json::<ExecuteRequest>(br#"{"code": "1", "bogus": 1}"#).expect_err("unknown");
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = parse_json::<ExecuteRequest>(br#"{"code": "1""#).expect_err("syntax");
        assert!(e.to_string().starts_with("malformed JSON"), "{e}");
        let e = parse_json::<ExecuteRequest>(br#"{"code": "1"} x"#).expect_err("trailing");
        assert!(e.to_string().starts_with("malformed JSON"), "{e}");
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
    }
}
