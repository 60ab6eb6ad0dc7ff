//! Handler tests through `tower::ServiceExt::oneshot`: every status code of the API.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::*;
use sandvm::Limits;
use sandvm_server::config::{hash_key, QuotaSettings, TenantEntry};
use sandvm_server::{ServerConfig, OPENAPI_JSON, ROUTES};
use serde_json::{json, Value};

const KEY_A: &str = "key-of-tenant-a";
const KEY_B: &str = "key-of-tenant-b";

fn tenant(name: &str, key: &str) -> TenantEntry {
    TenantEntry {
        name: name.into(),
        api_keys_sha256: vec![hash_key(key)],
        max_limits: Limits {
            timeout: Some(std::time::Duration::from_secs(5)),
            memory: 128 << 20,
            ..sandvm_pool::TenantConfig::default().max_limits
        },
        ..Default::default()
    }
}

fn two_tenants() -> ServerConfig {
    let mut b = tenant("b", KEY_B);
    b.capabilities = Some(vec!["base64".into()]);
    b.quotas = QuotaSettings { rate_per_second: Some(0.5), rate_burst: Some(2), ..Default::default() };
    ServerConfig {
        body_limit_bytes: 4096,
        pool: sandvm_server::config::PoolSettings { workers: Some(2), ..Default::default() },
        tenants: vec![tenant("a", KEY_A), b],
        ..Default::default()
    }
}

fn anonymous() -> ServerConfig {
    ServerConfig {
        pool: sandvm_server::config::PoolSettings { workers: Some(2), ..Default::default() },
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_ok_and_guest_errors_are_200() {
    let (_s, app) = app(anonymous());
    let r = send(&app, post("/v1/execute", None, &json!({"code": "[1,2,3].map(x=>x*2)"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["value"], json!([2, 4, 6]));
    assert_eq!(v["display"], "[ 2, 4, 6 ]");
    assert!(v["stats"]["wall_ms"].is_number());
    assert!(r.headers.contains_key("x-request-id"));
    // Globals and console.
    let r = send(
        &app,
        post("/v1/execute", None, &json!({"code": "console.log('hi', who); who.length", "globals": {"who": "Ada"}})),
    )
    .await;
    assert_eq!(r.json()["value"], 3);
    assert_eq!(r.json()["console"], json!([{"level": "log", "text": "hi Ada"}]));
    // Guest errors.
    let r = send(&app, post("/v1/execute", None, &json!({"code": "\n\nthrow new TypeError('bad')"}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["status"], "error");
    assert_eq!(v["error"]["kind"], "exception");
    assert_eq!(v["error"]["name"], "TypeError");
    assert_eq!(v["error"]["line"], 3);
    let r = send(&app, post("/v1/execute", None, &json!({"code": "while(1){}", "timeout_ms": 50}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["error"]["kind"], "timeout");
    let r = send(&app, post("/v1/execute", None, &json!({"code": "let let = ;"}))).await;
    assert_eq!(r.json()["error"]["kind"], "syntax");
    let bomb = "let a = []; for (;;) a.push(new Array(100000).fill(1.5));";
    let r = send(&app, post("/v1/execute", None, &json!({"code": bomb, "memory_mb": 8}))).await;
    assert_eq!(r.json()["error"]["kind"], "memory_limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_and_capabilities() {
    let (_s, app) = app(two_tenants());
    let r = send(
        &app,
        post(
            "/v1/execute",
            Some(KEY_A),
            &json!({"code": "export const x = await Promise.resolve(21 * 2);", "module": true}),
        ),
    )
    .await;
    assert_eq!(r.json()["value"], json!({"x": 42}), "{}", r.text);
    let r =
        send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": "import 'fs'; export {}", "module": true}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["error"]["kind"].as_str().is_some_and(|k| k.starts_with("module_not")), "{}", r.text);
    let probe = "[typeof btoa, typeof setTimeout]";
    let r = send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": probe}))).await;
    assert_eq!(r.json()["value"], json!(["undefined", "undefined"]));
    let r = send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": probe, "capabilities": ["base64", "timers"]})))
        .await;
    assert_eq!(r.json()["value"], json!(["function", "function"]));
    // Unknown pack, and a pack the tenant may not have: 422.
    let r = send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": "1", "capabilities": ["fs"]}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_capability"));
    let r = send(&app, post("/v1/execute", Some(KEY_B), &json!({"code": "1", "capabilities": ["timers"]}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "capability_not_allowed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_400_naming_the_field() {
    let (_s, app) = app(anonymous());
    let raw = |body: &str| {
        Request::post("/v1/execute")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let r = send(&app, raw("{\"code\": ")).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::BAD_REQUEST, "bad_request"));
    assert!(r.json()["error"]["message"].as_str().is_some_and(|m| m.contains("malformed JSON")), "{}", r.text);
    // A limit key with a value of the right type but no meaning is 422, naming the key.
    let r = send(&app, raw(r#"{"code": "1", "timeout_ms": "soon"}"#)).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"), "{}", r.text);
    assert!(r.text.contains("timeout_ms"), "{}", r.text);
    let r = send(&app, raw(r#"{"code": 5}"#)).await;
    assert!(r.status == StatusCode::BAD_REQUEST && r.text.contains("`code`"), "{}", r.text);
    let r = send(&app, raw(r#"{"code": "1", "globals": []}"#)).await;
    assert!(r.status == StatusCode::BAD_REQUEST && r.text.contains("`globals`"), "{}", r.text);
    let r = send(&app, raw(r#"{"cod": "1"}"#)).await;
    assert!(r.status == StatusCode::BAD_REQUEST && r.text.contains("cod"), "{}", r.text);
    let r = send(&app, raw(r#"{"code": "1", "timeout_ms": [1]}"#)).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains("timeout_ms"), "{}", r.text);
    let r = send(&app, raw(r#"{"code": "1", "timeout_msec": 5}"#)).await;
    assert!(r.status == StatusCode::BAD_REQUEST && r.text.contains("timeout_msec"), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_is_401_and_scripts_are_per_tenant() {
    let (_s, app) = app(two_tenants());
    let code = json!({"code": "1"});
    let r = send(&app, post("/v1/execute", None, &code)).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    assert_eq!(r.headers.get(header::WWW_AUTHENTICATE).map(|v| v.as_bytes()), Some(&b"Bearer"[..]));
    let r = send(&app, post("/v1/execute", Some("wrong"), &code)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let bad_scheme = Request::get("/v1/limits").header(header::AUTHORIZATION, KEY_A).body(Body::empty()).expect("req");
    assert_eq!(send(&app, bad_scheme).await.status, StatusCode::UNAUTHORIZED);
    // Auth comes before body checks.
    let r = send(&app, Request::post("/v1/execute").body(Body::from("x")).expect("req")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Stored scripts.
    let r = send(
        &app,
        post(
            "/v1/scripts",
            Some(KEY_A),
            &json!({"code": "(typeof n === 'number' ? n : 0) * 2", "filename": "double.js"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["id"].as_str().expect("id").to_string();
    let run = format!("/v1/scripts/{id}/run");
    let r = send(&app, post(&run, Some(KEY_A), &json!({"globals": {"n": 21}}))).await;
    assert_eq!(r.json()["value"], 42, "{}", r.text);
    // An empty body is `{}`.
    let empty = Request::post(&run).header(header::AUTHORIZATION, format!("Bearer {KEY_A}")).body(Body::empty());
    let r = send(&app, empty.expect("req")).await;
    assert_eq!(r.json()["value"], 0, "{}", r.text);
    // Another tenant's id is 404, as is an unknown id.
    let r = send(&app, post(&run, Some(KEY_B), &json!({}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let r = send(&app, post("/v1/scripts/s_000000000000000000000000/run", Some(KEY_A), &json!({}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let del = |key: &str| {
        Request::delete(format!("/v1/scripts/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .expect("req")
    };
    assert_eq!(send(&app, del(KEY_B)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(send(&app, del(KEY_A)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(send(&app, post(&run, Some(KEY_A), &json!({}))).await.status, StatusCode::NOT_FOUND);
    // A script that does not compile is 422.
    let r = send(&app, post("/v1/scripts", Some(KEY_A), &json!({"code": "let let = ;"}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "syntax_error"));
    // Unknown route: JSON 404; wrong method: JSON 405.
    let r = send(&app, get("/v2/nothing", Some(KEY_A))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let r = send(&app, get("/v1/execute", Some(KEY_A))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_stored_scripts_keep_their_language_and_positions() {
    let (_s, app) = app(two_tenants());
    // Line 6 of the TypeScript source; the stripped JavaScript has the throw on another line.
    let code = "interface Point {\n  x: number;\n  y: number;\n}\nconst p: Point = { x: n as number, y: 2 };\nif (p.x < 0) { throw new RangeError('negative') }\np.x * p.y satisfies number";
    let r = send(&app, post("/v1/scripts", Some(KEY_A), &json!({"code": code, "language": "typescript"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["filename"], "script.ts", "{}", r.text);
    let id = r.json()["id"].as_str().expect("id").to_string();
    let run = format!("/v1/scripts/{id}/run");
    let r = send(&app, post(&run, Some(KEY_A), &json!({"globals": {"n": 21}}))).await;
    assert_eq!((r.json()["status"].clone(), r.json()["value"].clone()), (json!("ok"), json!(42)), "{}", r.text);
    let r = send(&app, post(&run, Some(KEY_A), &json!({"globals": {"n": -1}}))).await;
    let e = &r.json()["error"];
    assert_eq!((e["name"].as_str(), e["line"].as_i64()), (Some("RangeError"), Some(6)), "{}", r.text);
    assert!(e["stack"].as_str().is_some_and(|s| s.contains("script.ts:6:")), "{}", r.text);
    // The same source as JavaScript does not compile; a TypeScript syntax error names its line.
    let r = send(&app, post("/v1/scripts", Some(KEY_A), &json!({"code": code}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "syntax_error"), "{}", r.text);
    let bad = json!({"code": "type T = {\n  a: string;\n};\nconst x: T = {a: 'x'} +;", "language": "typescript"});
    let r = send(&app, post("/v1/scripts", Some(KEY_A), &bad)).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "syntax_error"), "{}", r.text);
    assert!(r.text.contains(" at 4:"), "{}", r.text);
    let r = send(&app, post("/v1/scripts", Some(KEY_A), &json!({"code": "1", "language": "coffee"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_413_and_content_type_415() {
    let (_s, app) = app(two_tenants());
    let big = "x".repeat(5000);
    let r = send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": big}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{}", r.text);
    // Also without a Content-Length (a streamed body).
    let stream = futures_body(format!("{{\"code\": \"{big}\"}}"));
    let req = Request::post("/v1/execute")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {KEY_A}"))
        .body(stream)
        .expect("req");
    assert_eq!(send(&app, req).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    let req = Request::post("/v1/execute")
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::AUTHORIZATION, format!("Bearer {KEY_A}"))
        .body(Body::from("{\"code\": \"1\"}"))
        .expect("req");
    let r = send(&app, req).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    let req = Request::post("/v1/execute")
        .header(header::AUTHORIZATION, format!("Bearer {KEY_A}"))
        .body(Body::from("{\"code\": \"1\"}"))
        .expect("req");
    assert_eq!(send(&app, req).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// A body without a known length.
fn futures_body(s: String) -> Body {
    let chunks = s
        .into_bytes()
        .chunks(1000)
        .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
        .collect::<Vec<_>>();
    Body::from_stream(tokio_stream_iter(chunks))
}

fn tokio_stream_iter<T: Send + 'static>(items: Vec<T>) -> impl futures_core::Stream<Item = T> + Send + 'static {
    struct Iter<T>(std::vec::IntoIter<T>);
    impl<T> futures_core::Stream for Iter<T> {
        type Item = T;
        fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Option<T>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    impl<T> Unpin for Iter<T> {}
    Iter(items.into_iter())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_are_422_and_limits_are_refused_not_clamped() {
    let (_s, app) = app(two_tenants());
    for (body, kind) in [
        (json!({"code": "1", "timeout_ms": -5}), "invalid_request"),
        (json!({"code": "1", "memory_mb": -1}), "invalid_request"),
        (json!({"code": "1", "memory_mb": 0}), "invalid_request"),
        (json!({"code": "1", "memory": "NaN MiB"}), "invalid_request"),
        (json!({"code": "1", "memory": "1e999 GiB"}), "invalid_request"),
        (json!({"code": "1", "timeout": "5 parsecs"}), "invalid_request"),
        (json!({"code": "1", "memory": "x".repeat(2000)}), "invalid_request"),
        (json!({"code": "1", "timeout_ms": 5, "timeout": "5ms"}), "invalid_request"),
        // No time limit (0 or none) is more than any maximum.
        (json!({"code": "1", "timeout_ms": 0}), "limit_exceeded"),
        (json!({"code": "1", "timeout": null}), "limit_exceeded"),
        (json!({"code": "1", "timeout_ms": 5001}), "limit_exceeded"),
        (json!({"code": "1", "timeout": "5.001s"}), "limit_exceeded"),
        (json!({"code": "1", "memory_mb": 129}), "limit_exceeded"),
        (json!({"code": "1", "memory": "129 MiB"}), "limit_exceeded"),
        (json!({"code": "1", "stack": "2 MiB"}), "limit_exceeded"),
    ] {
        let r = send(&app, post("/v1/execute", Some(KEY_A), &body)).await;
        assert_eq!((r.status, r.kind().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, kind), "{body}: {}", r.text);
    }
    let r = send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": "1", "memory": "129 MiB"}))).await;
    let msg = r.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    assert_eq!(msg, "memory 129 MiB is above this tenant's maximum of 128 MiB");
    // At the maximum is fine, in either spelling.
    let r =
        send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": "1", "timeout_ms": 5000, "memory_mb": 128}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let r =
        send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": "1", "timeout": "5s", "memory": "128 MiB"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // GET /v1/limits tells the caller its limits.
    let r = send(&app, get("/v1/limits", Some(KEY_A))).await;
    let v = r.json();
    assert_eq!(v["tenant"], "a");
    assert_eq!(v["policy"], "refuse");
    assert_eq!(v["maxima"]["timeout"], 5000);
    assert_eq!(v["maxima"]["memory"], 128 << 20);
    assert_eq!(v["defaults"]["timeout"], 1000);
    assert_eq!(v["defaults"]["cpu_time"], 0);
    assert_eq!(v["defaults"]["max_jobs"], 1_000_000);
    // The output form reads back as the same limits.
    let back: Limits = serde_json::from_value(v["maxima"].clone()).expect("limits");
    assert_eq!(back.memory, 128 << 20);
    assert_eq!(v["body_limit_bytes"], 4096);
    let v = send(&app, get("/v1/limits", Some(KEY_B))).await.json();
    assert_eq!(v["tenant"], "b");
    assert_eq!(v["capabilities"], json!(["base64"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_is_429_with_retry_after() {
    let (_s, app) = app(two_tenants());
    // Tenant b: burst 2, 0.5/s.
    for _ in 0..2 {
        assert_eq!(send(&app, post("/v1/execute", Some(KEY_B), &json!({"code": "1"}))).await.status, StatusCode::OK);
    }
    let r = send(&app, post("/v1/execute", Some(KEY_B), &json!({"code": "1"}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"), "{}", r.text);
    let retry: u64 = r.headers[header::RETRY_AFTER].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    // Tenant a is not affected.
    assert_eq!(send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": "1"}))).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturated_pool_is_503() {
    let config = ServerConfig {
        pool: sandvm_server::config::PoolSettings { workers: Some(1), queue_capacity: 1, ..Default::default() },
        ..Default::default()
    };
    let (state, app) = app(config);
    let slow = json!({"code": "while(1){}", "timeout_ms": 3000});
    let a = tokio::spawn({
        let app = app.clone();
        let slow = slow.clone();
        async move { send(&app, post("/v1/execute", None, &slow)).await }
    });
    wait_for("the slow job to run", || state.pool().stats().running == 1).await;
    let b = tokio::spawn({
        let app = app.clone();
        async move { send(&app, post("/v1/execute", None, &slow)).await }
    });
    wait_for("the second job to queue", || state.pool().stats().queued == 1).await;
    let r = send(&app, post("/v1/execute", None, &json!({"code": "1"}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::SERVICE_UNAVAILABLE, "busy"), "{}", r.text);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // Dropping the requests cancels their jobs; the pool frees up.
    a.abort();
    b.abort();
    wait_for("the pool to free up", || {
        let s = state.pool().stats();
        s.running == 0 && s.queued == 0
    })
    .await;
    assert_eq!(send(&app, post("/v1/execute", None, &json!({"code": "2"}))).await.json()["value"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_render_in_the_sandbox() {
    let (_s, app) = app(anonymous());
    let body = json!({
        "template": "Hello {{upper name}}! {{#each items}}[{{> item}}]{{/each}}",
        "data": {"name": "ada", "items": [1, 2]},
        "partials": {"item": "#{{this}}"},
        "helpers": {"upper": "function (s) { return String(s).toUpperCase() }"}
    });
    let r = send(&app, post("/v1/templates/render", None, &body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["output"], "Hello ADA! [#1][#2]", "{}", r.text);
    let r = send(&app, post("/v1/templates/render", None, &json!({"template": "{{#if}}"}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "error");
    assert!(r.json()["error"]["line"].is_number(), "{}", r.text);
    let slow = json!({
        "template": "{{spin}}",
        "helpers": {"spin": "function () { for (;;) {} }"},
        "timeout_ms": 50
    });
    let r = send(&app, post("/v1/templates/render", None, &slow)).await;
    assert_eq!(r.json()["error"]["kind"], "timeout", "{}", r.text);
    let r = send(&app, post("/v1/templates/render", None, &json!({"template": "x", "timeout_ms": -1}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(&app, post("/v1/templates/render", None, &json!({"template": "x", "data": [1]}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // handlebars.js compile and runtime options, by their handlebars.js names.
    let body = json!({
        "template": "{{#with a}}{{b}}{{/with}} {{@site}} {{up \"x\"}}",
        "data": {"a": {}, "b": "B"},
        "options": {"compat": true},
        "runtime": {"data": {"site": "S"}, "helpers": {"up": "function (s) { return s.toUpperCase() }"}}
    });
    let r = send(&app, post("/v1/templates/render", None, &body)).await;
    assert_eq!(r.json()["output"], "B S X", "{}", r.text);
    let body = json!({"template": "{{foo 1}}", "options": {"knownHelpersOnly": true}});
    let r = send(&app, post("/v1/templates/render", None, &body)).await;
    assert_eq!(r.json()["error"]["kind"], "parse", "{}", r.text);
    let r = send(&app, post("/v1/templates/render", None, &json!({"template": "x", "options": {"nope": 1}}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

/// A template past a compile-time bound answers with the template's own kind
/// (`too_complex`, listed in the OpenAPI document) and its position, and the next render works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_deep_template_is_too_complex_and_the_next_render_works() {
    let (_s, app) = app(anonymous());
    let depth = 5_000;
    let deep = format!("{}x{}", "{{#if a}}".repeat(depth), "{{/if}}".repeat(depth));
    let r = send(&app, post("/v1/templates/render", None, &json!({"template": deep, "data": {"a": true}}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    assert_eq!((body["status"].clone(), body["output"].clone()), (json!("error"), Value::Null), "{}", r.text);
    assert_eq!(body["error"]["kind"], "too_complex", "{}", r.text);
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("nesting")), "{}", r.text);
    assert_eq!(body["error"]["line"], 1, "{}", r.text);
    assert!(body["error"]["column"].as_u64().is_some_and(|c| c > 1), "{}", r.text);
    let doc: Value = serde_json::from_str(OPENAPI_JSON).expect("valid JSON");
    let kinds = &doc["components"]["schemas"]["RenderResponse"]["properties"]["error"]["oneOf"][1]["properties"]
        ["kind"]["examples"];
    for kind in ["too_complex", "parse", "unknown_partial", "unknown_helper", "invalid_helper", "timeout"] {
        assert!(kinds.as_array().is_some_and(|k| k.contains(&json!(kind))), "{kind} not in {kinds}");
    }
    let good = json!({"template": "{{#if a}}{{b}}{{/if}}", "data": {"a": true, "b": "fine"}});
    let r = send(&app, post("/v1/templates/render", None, &good)).await;
    assert_eq!((r.status, r.json()["output"].clone()), (StatusCode::OK, json!("fine")), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_are_pool_jobs_under_the_tenant_quotas() {
    // Tenant b: 2 requests in a burst, then 0.5 per second. Renders and executions draw from
    // the same bucket: a render gets 429 exactly like /v1/execute.
    let (state, app) = app(two_tenants());
    let render = json!({"template": "{{x}}", "data": {"x": "<b>"}});
    let r = send(&app, post("/v1/templates/render", Some(KEY_B), &render)).await;
    assert_eq!((r.status, r.json()["output"].clone()), (StatusCode::OK, json!("&lt;b&gt;")), "{}", r.text);
    assert_eq!(send(&app, post("/v1/execute", Some(KEY_B), &json!({"code": "1"}))).await.status, StatusCode::OK);
    let r = send(&app, post("/v1/execute", Some(KEY_B), &json!({"code": "1"}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"));
    let r = send(&app, post("/v1/templates/render", Some(KEY_B), &render)).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"), "{}", r.text);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    let b = &state.pool().stats().tenants["b"];
    assert_eq!(b.outcomes.get("ok").copied(), Some(2), "{b:?}");
    assert_eq!(b.rejected.get("rate").copied(), Some(2), "{b:?}");
    // Tenant a is not affected.
    let r = send(&app, post("/v1/templates/render", Some(KEY_A), &render)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_render_stuck_in_a_builtin_ends_as_timeout_and_frees_its_worker() {
    let mut config = anonymous();
    config.pool.workers = Some(1);
    config.pool.hard_deadline_margin_ms = 100;
    let (state, app) = app(config);
    let stuck = json!({
        "template": "{{spin}}",
        "helpers": {"spin": "function () { return Array.prototype.join.call({ length: 3e7 }, ''); }"},
        "timeout_ms": 30
    });
    let r = send(&app, post("/v1/templates/render", None, &stuck)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json()["status"].clone(), r.json()["error"]["kind"].clone()), (json!("error"), json!("timeout")));
    // The only worker was replaced: the next job runs at once.
    let r = send(&app, post("/v1/execute", None, &json!({"code": "6 * 7"}))).await;
    assert_eq!(r.json()["value"], 42, "{}", r.text);
    let s = state.pool().stats();
    assert_eq!(s.abandoned_threads, 1);
    assert_eq!(s.tenants["anonymous"].outcomes.get("timeout").copied(), Some(1));
    let m = send(&app, get("/metrics", None)).await;
    for needle in ["sandvm_abandoned_threads ", "sandvm_abandoned_threads_total ", "sandvm_max_abandoned_threads "] {
        assert!(m.text.contains(needle), "metrics lack {needle}:\n{}", m.text);
    }
    let r = send(&app, get("/readyz", None)).await;
    assert!(r.json()["abandoned_threads"].is_u64() && r.json()["max_abandoned_threads"].is_u64(), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_playground() {
    let (state, app) = app(anonymous());
    assert_eq!(send(&app, get("/healthz", None)).await.json()["status"], "ok");
    assert_eq!(send(&app, get("/readyz", None)).await.status, StatusCode::OK);
    send(&app, post("/v1/execute", None, &json!({"code": "1"}))).await;
    send(&app, post("/v1/execute", None, &json!({"code": "while(1){}", "timeout_ms": 20}))).await;
    let m = send(&app, get("/metrics", None)).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.headers[header::CONTENT_TYPE].to_str().is_ok_and(|c| c.starts_with("text/plain")));
    for needle in [
        "sandvm_http_requests_total{route=\"/v1/execute\",method=\"POST\",status=\"200\"}",
        "sandvm_http_request_duration_seconds_bucket{route=\"/v1/execute\"",
        "sandvm_pool_executions_total{tenant=\"anonymous\",outcome=\"timeout\"}",
        "sandvm_pool_executions_total{tenant=\"anonymous\",outcome=\"ok\"}",
        "sandvm_pool_queued_jobs",
        "sandvm_tenant_cpu_ms_total{tenant=\"anonymous\"}",
    ] {
        assert!(m.text.contains(needle), "metrics lack {needle}:\n{}", m.text);
    }
    let p = send(&app, get("/", None)).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.headers[header::CONTENT_TYPE].to_str().is_ok_and(|c| c.starts_with("text/html")));
    assert!(p.text.contains("id=\"run\"") && p.text.contains("id=\"code\""));
    assert!(!p.text.contains("http://") && !p.text.contains("https://"), "the playground loads nothing external");
    state.start_draining();
    let r = send(&app, get("/readyz", None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["status"], "draining");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_for_configured_origins() {
    let mut config = anonymous();
    config.cors_origins = vec!["http://localhost:3000".into()];
    let (_s, app) = app(config);
    let pre = Request::builder()
        .method(Method::OPTIONS)
        .uri("/v1/execute")
        .header(header::ORIGIN, "http://localhost:3000")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Body::empty())
        .expect("req");
    let r = send(&app, pre).await;
    assert_eq!(
        r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.as_bytes()),
        Some(&b"http://localhost:3000"[..])
    );
    let other = Request::get("/healthz").header(header::ORIGIN, "http://evil.example").body(Body::empty());
    let r = send(&app, other.expect("req")).await;
    assert!(!r.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

/// Every route of the router is in the OpenAPI document and vice versa, and the router
/// really serves exactly those methods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_matches_the_router() {
    let doc: Value = serde_json::from_str(OPENAPI_JSON).expect("valid JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if method != "parameters" {
                documented.insert((path.clone(), method.to_uppercase()));
            }
        }
    }
    let routed: BTreeSet<(String, String)> =
        ROUTES.iter().flat_map(|(p, ms)| ms.iter().map(move |m| (p.to_string(), m.to_string()))).collect();
    assert_eq!(documented, routed, "OpenAPI paths and router routes differ");
    // The served document is the same.
    let (_s, app) = app(two_tenants());
    let served = send(&app, get("/openapi.json", None)).await;
    assert_eq!(served.json(), doc);
    // Each (path, method) is routed; other methods on the same path are 405.
    for (path, methods) in ROUTES {
        let concrete = path.replace("{id}", "s_000000000000000000000000");
        for m in ["GET", "POST", "DELETE", "PUT"] {
            let req = Request::builder()
                .method(m)
                .uri(&concrete)
                .header(header::AUTHORIZATION, format!("Bearer {KEY_A}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .expect("req");
            let r = send(&app, req).await;
            let routed_here = r.status != StatusCode::METHOD_NOT_ALLOWED
                && !(r.status == StatusCode::NOT_FOUND && r.text.contains("no such route"));
            assert_eq!(routed_here, methods.contains(&m), "{m} {path}: {} {}", r.status, r.text);
        }
        // Every documented operation lists its responses.
        for m in methods.iter() {
            assert!(doc["paths"][path][m.to_lowercase()]["responses"].is_object(), "{m} {path}");
        }
    }
}
