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
use crate::ServerError;
use sandvm::{InvalidLimit, InvalidReason, LimitField, LimitInput, LimitOverrides, Limits};

/// `POST /v1/execute`.
#[derive(Debug, Clone, Deserialize)]
// Unknown fields are refused by the flattened `RequestLimits` (serde's
// `deny_unknown_fields` does not work with `flatten`).
pub struct ExecuteRequest {
    /// The source: a classic script (sloppy, its completion value is the result) or, with
    /// `module`, an ES module (its exports are the result).
    pub code: String,
    /// Run `code` as an ES module named `main.mjs`. By default, `false`.
    #[serde(default)]
    pub module: bool,
    /// Limits, each at most the tenant's maximum (more is refused with 422
    /// `limit_exceeded`): any key of `sandvm::Limits` at the top level of the body
    /// (`timeout`, `cpu_time`, `memory`, `stack`, `max_output`, `max_jobs`, with units:
    /// `"250ms"`, `"16 MiB"`; or `timeout_ms`, `memory_mb`, ...). By default, the tenant's
    /// defaults.
    #[serde(flatten)]
    pub limits: RequestLimits,
    /// Globals set before the code runs (deep copies).
    pub globals: Option<Map<String, Json>>,
    /// Capability packs to grant (`timers`, `text`, `base64`, `url`, `structured-clone`,
    /// `queue-microtask`, or `all`). By default, none.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// `javascript` (the default) or `typescript`: types are stripped (not checked) and error
    /// positions point into the TypeScript source.
    #[serde(default)]
    pub language: sandvm::Language,
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
    /// `javascript` (the default) or `typescript`: kept with the script; each run strips the
    /// types and error positions point into the TypeScript source.
    #[serde(default)]
    pub language: sandvm::Language,
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
// Unknown fields are refused by the flattened `RequestLimits` (serde's
// `deny_unknown_fields` does not work with `flatten`).
pub struct RunScriptRequest {
    /// As in [`ExecuteRequest`].
    #[serde(flatten)]
    pub limits: RequestLimits,
    /// As in [`ExecuteRequest`].
    pub globals: Option<Map<String, Json>>,
    /// As in [`ExecuteRequest`].
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// `POST /v1/templates/render`.
#[derive(Debug, Clone, Deserialize)]
// Unknown fields are refused by the flattened `RequestLimits` (serde's
// `deny_unknown_fields` does not work with `flatten`).
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
    /// The handlebars.js compile options, with their handlebars.js names (`compat`,
    /// `knownHelpers`, `knownHelpersOnly`, `data`, `assumeObjects`, `preventIndent`,
    /// `ignoreStandalone`, `explicitPartialContext`, `strict`, `noEscape`). By default,
    /// handlebars.js' defaults.
    #[serde(default)]
    pub options: sandvm_template::TemplateOptions,
    /// The handlebars.js runtime options (`data` — the `@data` frame —,
    /// `allowProtoPropertiesByDefault`, `allowProtoMethodsByDefault`, `allowedProtoProperties`,
    /// `allowedProtoMethods`, `helpers`, `partials`). By default, none.
    #[serde(default)]
    pub runtime: sandvm_template::RenderOptions,
    /// As in [`ExecuteRequest`].
    #[serde(flatten)]
    pub limits: RequestLimits,
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
    /// The limits of a request that gives none, in `sandvm::Limits`' output form: every
    /// field by its canonical key, times in milliseconds (0: none), sizes in bytes.
    pub defaults: Limits,
    /// The most a request may ask for (same form).
    pub maxima: Limits,
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

/// The limit keys of a request body (flattened into it). A key that names no limit is a 400
/// like any unknown field; a limit key with a bad value (negative, not a number, an unknown
/// unit) is kept as an error for the handler to answer with 422 `invalid_request`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLimits(Result<LimitOverrides, InvalidLimit>);

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits(Ok(LimitOverrides::new()))
    }
}

impl RequestLimits {
    /// The limits asked for, or why one of them is invalid.
    ///
    /// # Errors
    /// The first invalid limit.
    pub fn overrides(&self) -> Result<&LimitOverrides, &InvalidLimit> {
        self.0.as_ref()
    }
}

impl From<LimitOverrides> for RequestLimits {
    fn from(o: LimitOverrides) -> Self {
        RequestLimits(Ok(o))
    }
}

impl<'de> Deserialize<'de> for RequestLimits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RequestLimits;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("request fields")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RequestLimits, A::Error> {
                let mut out = Ok(LimitOverrides::new());
                while let Some(key) = map.next_key::<String>()? {
                    if LimitField::from_key(&key).is_none() {
                        let shown: String = key.chars().take(64).collect();
                        return Err(serde::de::Error::custom(format_args!("unknown field `{shown}`")));
                    }
                    let value: Json = map.next_value()?;
                    let input = match &value {
                        Json::Null => Ok(LimitInput::Null),
                        Json::String(s) => Ok(LimitInput::Text(s)),
                        Json::Number(n) => Ok(match (n.as_u64(), n.as_i64()) {
                            (Some(u), _) => LimitInput::Unsigned(u),
                            (_, Some(i)) => LimitInput::Signed(i),
                            _ => LimitInput::Float(n.as_f64().unwrap_or(f64::NAN)),
                        }),
                        Json::Bool(_) => Err("a boolean"),
                        Json::Array(_) => Err("a list"),
                        Json::Object(_) => Err("an object"),
                    };
                    if let Ok(o) = &mut out {
                        let r = match input {
                            Ok(v) => o.set(&key, v).map(|_| ()),
                            Err(got) => Err(InvalidLimit { key, reason: InvalidReason::WrongType(got) }),
                        };
                        if let Err(e) = r {
                            out = Err(e);
                        }
                    }
                }
                Ok(RequestLimits(out))
            }
        }
        d.deserialize_map(V)
    }
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
        // A limit with a bad value parses, keeping the error for a 422 that names the key.
        let r = parse_json::<ExecuteRequest>(br#"{"code": "1", "timeout_ms": "soon"}"#).expect("parses");
        let e = r.limits.overrides().expect_err("bad limit");
        assert!(e.to_string().contains("`timeout_ms`"), "{e}");
        let r = parse_json::<ExecuteRequest>(br#"{"code": "1", "timeout": "250ms", "memory_mb": 8}"#).expect("parses");
        let l = r.limits.overrides().expect("limits").apply(&Limits::default());
        assert_eq!((l.timeout, l.memory), (Some(std::time::Duration::from_millis(250)), 8 << 20));
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
