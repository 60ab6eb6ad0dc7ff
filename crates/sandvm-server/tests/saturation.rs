//! The cap on abandoned guest threads over HTTP: 503 `saturated` with `Retry-After`,
//! readiness not ready, liveness alive; back to normal when the stuck thread ends. Alone in
//! its test binary: the cap and the count are process-wide.

mod common;

use std::time::Duration;

use axum::http::{header, StatusCode};
use common::*;
use sandvm_server::ServerConfig;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_of_abandoned_threads_requests_get_503_saturated() {
    let mut config = ServerConfig::default();
    config.pool.workers = Some(1);
    config.pool.hard_deadline_margin_ms = 100;
    config.pool.max_abandoned_threads = 1;
    let (state, app) = app(config);
    assert_eq!(sandvm::max_abandoned_threads(), 1, "the server installs its cap");
    // A helper stuck for a few seconds in one builtin that never polls the interrupt.
    let stuck = json!({
        "template": "{{spin}}",
        "helpers": {"spin": "function () { return Array.prototype.join.call({ length: 1e8 }, ''); }"},
        "timeout_ms": 20
    });
    let r = send(&app, post("/v1/templates/render", None, &stuck)).await;
    assert_eq!(r.json()["error"]["kind"], "timeout", "{}", r.text);
    assert_eq!(sandvm::abandoned_threads(), 1, "the stuck render still runs");

    for (path, body) in [("/v1/execute", json!({"code": "1"})), ("/v1/templates/render", json!({"template": "x"}))] {
        let r = send(&app, post(path, None, &body)).await;
        assert_eq!((r.status, r.kind().as_str()), (StatusCode::SERVICE_UNAVAILABLE, "saturated"), "{path}: {}", r.text);
        assert_eq!(r.headers[header::RETRY_AFTER], "5");
        assert!(r.json()["error"]["message"].as_str().is_some_and(|m| m.contains("cap 1")), "{}", r.text);
    }
    let ready = send(&app, get("/readyz", None)).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        (ready.json()["status"].clone(), ready.json()["abandoned_threads"].clone()),
        (json!("saturated"), json!(1))
    );
    assert_eq!(send(&app, get("/healthz", None)).await.status, StatusCode::OK, "liveness stays up");
    assert_eq!(state.pool().stats().tenants["anonymous"].rejected.get("saturated").copied(), Some(2));

    // Once the stuck thread ends by itself, the server is ready again (bounded poll).
    sandvm_testkit::wait_until_async_with(Duration::from_secs(60), "the stuck thread to end (readyz 200)", || async {
        send(&app, get("/readyz", None)).await.status == StatusCode::OK
    })
    .await;
    let r = send(&app, post("/v1/execute", None, &json!({"code": "6 * 7"}))).await;
    assert_eq!(r.json()["value"], 42, "{}", r.text);
}
