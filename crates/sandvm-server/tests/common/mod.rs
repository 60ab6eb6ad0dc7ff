//! Helpers shared by the in-process HTTP tests: send a request to the router, read the reply.
#![allow(dead_code)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use sandvm_server::{router, AppState, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

pub mod postgres;

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn kind(&self) -> String {
        self.json()["error"]["kind"].as_str().unwrap_or_else(|| panic!("no error kind: {}", self.text)).to_string()
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Reply { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
}

pub fn post(path: &str, key: Option<&str>, body: &Value) -> Request<Body> {
    let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    b.body(Body::from(body.to_string())).expect("request")
}

pub fn get(path: &str, key: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(k) = key {
        b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    b.body(Body::empty()).expect("request")
}

pub fn app(config: ServerConfig) -> (AppState, Router) {
    let state = AppState::new(config).expect("state");
    (state.clone(), router(state))
}

/// Polls `cond` for up to 10 s (the shared bounded wait of `sandvm-testkit`), naming
/// `what` when it times out.
pub async fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    sandvm_testkit::wait_until_async(Duration::from_secs(10), what, cond).await;
}

/// A store test's configuration: tenant `a` (key `key_a`, the rate quota `(per second, burst)`
/// if given) and tenant `b` (key `key_b`), each allowed timeouts up to 5 s, one pool worker.
pub fn two_tenants(rate: Option<(f64, u32)>, key_a: &str, key_b: &str) -> ServerConfig {
    use sandvm_server::config::{hash_key, PoolSettings, QuotaSettings, TenantEntry};
    let tenant = |name: &str, key: &str| TenantEntry {
        name: name.into(),
        api_keys_sha256: vec![hash_key(key)],
        max_limits: sandvm::Limits {
            timeout: Some(Duration::from_secs(5)),
            ..sandvm_pool::TenantConfig::default().max_limits
        },
        ..Default::default()
    };
    let mut a = tenant("a", key_a);
    if let Some((per_second, burst)) = rate {
        a.quotas = QuotaSettings { rate_per_second: Some(per_second), rate_burst: Some(burst), ..Default::default() };
    }
    ServerConfig {
        pool: PoolSettings { workers: Some(1), ..Default::default() },
        tenants: vec![a, tenant("b", key_b)],
        ..Default::default()
    }
}

/// The CPU budget of [`with_cpu_budget`]: milliseconds per window.
pub const CPU_BUDGET_MS: u64 = 20;

/// `config` with a CPU budget of [`CPU_BUDGET_MS`] per hour for tenant `a` (the first).
pub fn with_cpu_budget(mut config: ServerConfig) -> ServerConfig {
    config.tenants[0].quotas.cpu_ms_per_window = Some(CPU_BUDGET_MS);
    config.tenants[0].quotas.cpu_window_ms = 3_600_000;
    config
}

/// Runs a job of tenant `a` (`key_a`) that burns more CPU than [`CPU_BUDGET_MS`] through
/// `spend`, which the window admits; returns the CPU milliseconds it reports.
pub async fn burn_the_cpu_budget(spend: &Router, key_a: &str) -> f64 {
    let burn = serde_json::json!({"code": "let x = 0; for (let i = 0; i < 2e7; i++) x += i; x", "timeout_ms": 5000});
    let r = send(spend, post("/v1/execute", Some(key_a), &burn)).await;
    assert_eq!((r.status, r.json()["status"].clone()), (StatusCode::OK, serde_json::json!("ok")), "{}", r.text);
    let cpu = r.json()["stats"]["cpu_ms"].as_f64().expect("cpu_ms");
    assert!(cpu > CPU_BUDGET_MS as f64, "the job used {cpu} ms, not enough to spend the budget");
    cpu
}

/// Asserts that `r` is the refusal of a spent CPU budget window of an hour: 429
/// `quota_exceeded` naming `cpu_budget`, with a `Retry-After` within the hour. Returns the
/// error's message.
pub fn assert_cpu_budget_refusal(r: &Reply) -> String {
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"), "{}", r.text);
    let wait: u64 = r.headers[header::RETRY_AFTER].to_str().expect("ascii").parse().expect("seconds");
    assert!((3000..=3600).contains(&wait), "Retry-After {wait}");
    let message = r.json()["error"]["message"].as_str().expect("message").to_string();
    assert!(message.contains("cpu_budget"), "{message}");
    message
}

/// The refusal a single node (in-memory store, the pool's own CPU window) gives once tenant
/// `a`'s CPU budget is spent: what a cluster's nodes must answer too.
pub async fn single_node_cpu_budget_refusal(key_a: &str, key_b: &str) -> Reply {
    let (state, single) = app(with_cpu_budget(two_tenants(None, key_a, key_b)));
    burn_the_cpu_budget(&single, key_a).await;
    let r = send(&single, post("/v1/execute", Some(key_a), &serde_json::json!({"code": "1"}))).await;
    state.shutdown().await;
    r
}
