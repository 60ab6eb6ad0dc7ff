//! Target 5: the HTTP request decoding path of `sandvm serve`. The bytes become one request
//! (route, method, content type, API key, body) sent through the real axum router with
//! `tower::ServiceExt::oneshot`, so the JSON extractors, the limit validation and the error
//! mapping all see hostile input. What must hold: the answer is never a 5xx other than 503,
//! every rejection is the documented JSON error object (`{"error": {"kind", "message"}}`), and
//! nothing panics.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use sandvm::Limits;
use sandvm_server::config::{PoolSettings, TenantEntry};
use sandvm_server::{router, AppState, ServerConfig};
use tower::ServiceExt;

const ROUTES: &[&str] = &[
    "/v1/execute",
    "/v1/scripts",
    "/v1/scripts/00000000000000000000000000000000/run",
    "/v1/scripts/00000000000000000000000000000000",
    "/v1/templates/render",
    "/v1/limits",
    "/healthz",
    "/readyz",
    "/v1/execute?x=%ff",
];
const METHODS: &[Method] = &[Method::POST, Method::GET, Method::DELETE, Method::PUT];
const CONTENT_TYPES: &[Option<&str>] =
    &[Some("application/json"), None, Some("text/plain"), Some("application/json; charset=utf-8")];

/// One router for the whole run: a small pool and tight limits so that guest code the fuzzer
/// writes into `code` ends fast (100 ms by default, 200 ms at most).
fn app() -> &'static (tokio::runtime::Runtime, Router) {
    static APP: OnceLock<(tokio::runtime::Runtime, Router)> = OnceLock::new();
    APP.get_or_init(|| {
        let rt =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
        let ms = |n| Some(std::time::Duration::from_millis(n));
        let limits = Limits { timeout: ms(100), memory: 16 << 20, ..Limits::default() };
        let max = Limits { timeout: ms(200), memory: 32 << 20, ..Limits::default() };
        let config = ServerConfig {
            body_limit_bytes: 64 * 1024,
            pool: PoolSettings { workers: Some(2), queue_capacity: 64, ..Default::default() },
            anonymous: TenantEntry { limits, max_limits: max, ..Default::default() },
            ..Default::default()
        };
        let app = rt.block_on(async { AppState::new(config).map(router) }).expect("server state");
        (rt, app)
    })
}

fuzz_target!(|data: &[u8]| {
    let [route, flags, body @ ..] = data else { return };
    let (rt, app) = app();
    let path = ROUTES[usize::from(*route) % ROUTES.len()];
    let method = METHODS[usize::from(flags & 3)].clone();
    let mut req = Request::builder().method(method).uri(path);
    if let Some(ct) = CONTENT_TYPES[usize::from((flags >> 2) & 3)] {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    if flags & 16 != 0 {
        req = req.header(header::AUTHORIZATION, "Bearer not-a-key");
    }
    let req = req.body(Body::from(body.to_vec())).expect("request");
    let (status, text) = rt.block_on(async {
        let res = app.clone().oneshot(req).await.expect("the router is infallible");
        let status = res.status();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    });
    assert!(!status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE, "{status} for {path}: {text}");
    if (status.is_client_error() && status != StatusCode::METHOD_NOT_ALLOWED && status != StatusCode::NOT_FOUND)
        || status == StatusCode::SERVICE_UNAVAILABLE
    {
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} body is not JSON ({e}): {text}"));
        assert!(v["error"]["kind"].is_string(), "{status} without an error kind: {text}");
    }
});
