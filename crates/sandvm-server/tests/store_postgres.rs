//! Two API nodes (two `AppState`s) on one real PostgreSQL, started by the test harness
//! (`common::postgres`) on a free loopback port in a temporary directory: stored scripts are
//! shared and survive a restart, the rate quota and the CPU budget are shared, every run is logged (without code
//! or results), and a database that goes away makes the API answer 503 with `Retry-After`
//! quickly, then recover by itself.
//!
//! Needs PostgreSQL's server binaries (Debian's `postgresql`); see `common/postgres.rs`.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use common::postgres::Postgres;
use common::*;
use sandvm_server::{
    router, store::Admission, AppState, PostgresOptions, PostgresStore, ScriptRecord, ScriptStore, ServerConfig,
    ServerError,
};
use serde_json::json;

const KEY_A: &str = "pg-key-a";
const KEY_B: &str = "pg-key-b";

/// Tenant `a` (with the rate quota, if any) and tenant `b`, one pool worker.
fn config(rate: Option<(f64, u32)>) -> ServerConfig {
    two_tenants(rate, KEY_A, KEY_B)
}

async fn node(url: &str, config: ServerConfig) -> (AppState, axum::Router) {
    let store = PostgresStore::connect(url, PostgresOptions::default()).await.expect("connect the store");
    let state = AppState::with_store(config, Arc::new(store)).expect("state");
    (state.clone(), router(state))
}

async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

fn record(tenant: &str, id: &str) -> ScriptRecord {
    ScriptRecord {
        id: id.into(),
        tenant: tenant.into(),
        code: "1".into(),
        filename: "s.js".into(),
        strict: false,
        language: sandvm::Language::JavaScript,
        created_ms: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_scripts_and_the_log_and_survive_a_restart() {
    let Some(pg) = Postgres::start() else { return };
    // Both nodes start together on an empty database: the migrations run once.
    let ((a, app_a), (b, app_b)) = tokio::join!(node(&pg.url, config(None)), node(&pg.url, config(None)));
    let db = sql(&pg.url).await;
    let versions: Vec<i64> = db
        .query("SELECT version FROM sandvm_schema_version", &[])
        .await
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=sandvm_server::store::SCHEMA_VERSION).collect::<Vec<_>>());

    // A TypeScript script stored through A runs through B with its positions.
    let ts = "interface Box {\n  v: number;\n}\nconst b: Box = { v: 2 };\nif (b.v > 1) throw new TypeError('boxed');";
    let r = send(&app_a, post("/v1/scripts", Some(KEY_A), &json!({"code": ts, "language": "typescript"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let ts_id = r.json()["id"].as_str().expect("id").to_string();
    let r = send(&app_b, post(&format!("/v1/scripts/{ts_id}/run"), Some(KEY_A), &json!({}))).await;
    let e = &r.json()["error"];
    assert_eq!((e["name"].as_str(), e["line"].as_i64()), (Some("TypeError"), Some(5)), "{}", r.text);
    let stored = b.store().get("a", &ts_id).await.expect("get").expect("stored");
    assert_eq!(stored.language, sandvm::Language::TypeScript);
    assert!(b.store().remove("a", &ts_id).await.expect("remove"));

    let secret = "'marker-9d1e:' + (6 * 7)";
    let r = send(&app_a, post("/v1/scripts", Some(KEY_A), &json!({"code": secret}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["id"].as_str().expect("id").to_string();
    let run = format!("/v1/scripts/{id}/run");
    // Stored through A, runs through B; invisible to tenant b on either node.
    let r = send(&app_b, post(&run, Some(KEY_A), &json!({}))).await;
    assert_eq!((r.status, r.json()["value"].clone()), (StatusCode::OK, json!("marker-9d1e:42")), "{}", r.text);
    for app in [&app_a, &app_b] {
        let r = send(app, post(&run, Some(KEY_B), &json!({}))).await;
        assert_eq!((r.status, r.kind().as_str()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);
    }
    // Node A goes away and comes back: the script is still there.
    a.shutdown().await;
    drop(app_a);
    let (a, app_a) = node(&pg.url, config(None)).await;
    let r = send(&app_a, post(&run, Some(KEY_A), &json!({}))).await;
    assert_eq!((r.status, r.json()["value"].clone()), (StatusCode::OK, json!("marker-9d1e:42")), "{}", r.text);
    // Deleted through B: A, which has it compiled, does not run it any more.
    let del = axum::http::Request::delete(format!("/v1/scripts/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {KEY_A}"))
        .body(axum::body::Body::empty())
        .expect("request");
    assert_eq!(send(&app_b, del).await.status, StatusCode::NO_CONTENT);
    let r = send(&app_a, post(&run, Some(KEY_A), &json!({}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);

    // Mixed outcomes on both nodes, for both tenants.
    let jobs = [
        (&app_a, KEY_A, json!({"code": "1 + 1"}), "ok"),
        (&app_b, KEY_A, json!({"code": "throw new Error('nope')"}), "exception"),
        (&app_a, KEY_A, json!({"code": "let ="}), "syntax"),
        (&app_b, KEY_A, json!({"code": "for (;;) {}", "timeout_ms": 50}), "timeout"),
        (&app_b, KEY_B, json!({"code": "2"}), "ok"),
    ];
    for (app, key, body, _) in &jobs {
        let r = send(app, post("/v1/execute", Some(key), body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r =
        send(&app_b, post("/v1/templates/render", Some(KEY_A), &json!({"template": "{{x}}", "data": {"x": 1}}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // One row per run: the three script runs above, four executions and one render for a.
    let log = a.store().executions("a", 100).await.expect("log");
    let kinds: Vec<(&str, &str)> = log.iter().rev().map(|r| (r.job_kind.as_str(), r.outcome.as_str())).collect();
    let expected: Vec<(&str, String)> = [("script", "exception"), ("script", "ok"), ("script", "ok")]
        .into_iter()
        .map(|(k, o)| (k, o.to_string()))
        .chain(jobs.iter().filter(|j| j.1 == KEY_A).map(|j| ("execute", j.3.to_string())))
        .chain([("template", "ok".to_string())])
        .collect();
    assert_eq!(kinds.len(), expected.len(), "{log:?}");
    for ((kind, outcome), (ek, eo)) in kinds.iter().zip(&expected) {
        assert_eq!((kind, outcome), (ek, &eo.as_str()), "{log:?}");
    }
    assert!(log.iter().all(|r| r.tenant == "a" && r.id.starts_with("x_")), "{log:?}");
    let b_log = b.store().executions("b", 100).await.expect("log");
    assert_eq!(b_log.len(), 1, "{b_log:?}");
    // The log's columns hold no code, input or result, and no row mentions the source.
    let columns: BTreeSet<String> = db
        .query("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'sandvm_executions'", &[])
        .await
        .expect("columns")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let want: BTreeSet<String> =
        ["seq", "id", "tenant", "job_kind", "outcome", "started_ms", "wall_ms", "cpu_ms", "queue_ms"]
            .map(String::from)
            .into();
    assert_eq!(columns, want);
    let leaked: i64 = db
        .query_one("SELECT count(*) FROM sandvm_executions e WHERE e::text LIKE '%marker-9d1e%'", &[])
        .await
        .expect("scan")
        .get(0);
    assert_eq!(leaked, 0);
    a.shutdown().await;
    b.shutdown().await;
}

/// Two stores on one database, connected at the same time (two API nodes' stores).
async fn two_stores(url: &str) -> [Arc<PostgresStore>; 2] {
    let (s1, s2) = tokio::join!(
        PostgresStore::connect(url, PostgresOptions::default()),
        PostgresStore::connect(url, PostgresOptions::default())
    );
    [Arc::new(s1.expect("store 1")), Arc::new(s2.expect("store 2"))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_scripts_holds_across_nodes_under_concurrent_inserts() {
    let Some(pg) = Postgres::start() else { return };
    let stores = two_stores(&pg.url).await;
    let max = 5;
    for i in 0..max - 1 {
        stores[i % 2].insert(record("a", &format!("s_{i}")), max).await.expect("below the quota");
    }
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move { s.insert(record("a", &format!("s_race{i}")), max).await }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(()) => won += 1,
            Err(ServerError::QuotaExceeded { reason, .. }) => assert_eq!(reason, "max_scripts"),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(stores[1].count("a").await.expect("count"), max);
    assert!(stores[0].remove("a", "s_0").await.expect("remove"));
    assert!(!stores[1].remove("a", "s_0").await.expect("removed once"));
    assert!(!stores[1].remove("b", "s_1").await.expect("not b's"));
    assert_eq!(stores[1].count("a").await.expect("count"), max - 1);
    stores[1].insert(record("a", "s_again"), max).await.expect("a slot is free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_quota_is_shared_by_both_nodes() {
    let Some(pg) = Postgres::start() else { return };
    // Ten tokens, refilled at one per thousand seconds: no refill during the test.
    let rate = Some((0.001, 10));
    let ((a, app_a), (b, app_b)) = tokio::join!(node(&pg.url, config(rate)), node(&pg.url, config(rate)));
    let mut tasks = Vec::new();
    for i in 0..12 {
        let app = if i % 2 == 0 { app_a.clone() } else { app_b.clone() };
        tasks.push(tokio::spawn(
            async move { send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": "1"}))).await },
        ));
    }
    let (mut ok, mut limited) = (0, 0);
    for t in tasks {
        let r = t.await.expect("task");
        match r.status {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(r.kind(), "quota_exceeded", "{}", r.text);
                let wait: u64 = r.headers[header::RETRY_AFTER].to_str().expect("ascii").parse().expect("seconds");
                assert!((900..=1000).contains(&wait), "Retry-After {wait}");
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!((ok, limited), (10, 2));
    // Tenant b has no rate quota on either node.
    for app in [&app_a, &app_b] {
        assert_eq!(send(app, post("/v1/execute", Some(KEY_B), &json!({"code": "1"}))).await.status, StatusCode::OK);
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpu_budget_spent_through_one_node_is_spent_on_the_other() {
    let Some(pg) = Postgres::start() else { return };
    let single = single_node_cpu_budget_refusal(KEY_A, KEY_B).await;
    let single_message = assert_cpu_budget_refusal(&single);
    let cfg = || with_cpu_budget(config(None));
    let ((a, app_a), (b, app_b)) = tokio::join!(node(&pg.url, cfg()), node(&pg.url, cfg()));
    // The window has budget: both nodes admit a cheap job.
    for app in [&app_a, &app_b] {
        let r = send(app, post("/v1/execute", Some(KEY_A), &json!({"code": "1"}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let spent = burn_the_cpu_budget(&app_a, KEY_A).await;
    // Node B never ran the expensive job; it refuses as a single node does.
    let r = send(&app_b, post("/v1/execute", Some(KEY_A), &json!({"code": "1"}))).await;
    assert_eq!(assert_cpu_budget_refusal(&r), single_message);
    let r = send(&app_a, post("/v1/templates/render", Some(KEY_A), &json!({"template": "x"}))).await;
    assert_eq!(assert_cpu_budget_refusal(&r), single_message);
    // Tenant b has no budget; a's refusals were not charged, and the window holds what ran.
    for app in [&app_a, &app_b] {
        assert_eq!(send(app, post("/v1/execute", Some(KEY_B), &json!({"code": "1"}))).await.status, StatusCode::OK);
    }
    let db = sql(&pg.url).await;
    let row = db.query_one("SELECT used_ms FROM sandvm_cpu_windows WHERE tenant = 'a'", &[]).await.expect("window");
    let used: f64 = row.get(0);
    assert!(used >= spent && used < spent + 100.0, "window {used} ms, the expensive job {spent} ms");
    let n: i64 = db.query_one("SELECT count(*) FROM sandvm_cpu_windows", &[]).await.expect("count").get(0);
    assert_eq!(n, 1, "only tenant a has a budget");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cpu_charges_on_two_stores_all_count() {
    let Some(pg) = Postgres::start() else { return };
    let stores = two_stores(&pg.url).await;
    let budget = sandvm_pool::CpuBudget { cpu_ms: 100, window: Duration::from_secs(3600) };
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move { s.charge_cpu("a", budget, 9.0).await }));
    }
    let mut admitted = 0;
    for t in tasks {
        if t.await.expect("task").expect("charge") == Admission::Admitted {
            admitted += 1;
        }
    }
    // Serialised on the tenant's row: the charges that found less than 100 ms in the window
    // before them are those that found 0, 9, ..., 99.
    assert_eq!(admitted, 12);
    // 20 × 9 ms = 180 ms were charged, none lost: the window is spent on both.
    for s in &stores {
        match s.charge_cpu("a", budget, 0.0).await.expect("check") {
            Admission::Refused { retry_after } => assert!(retry_after > Duration::from_secs(3500), "{retry_after:?}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let db = sql(&pg.url).await;
    let used: f64 =
        db.query_one("SELECT used_ms FROM sandvm_cpu_windows WHERE tenant = 'a'", &[]).await.expect("window").get(0);
    assert!((used - 180.0).abs() < 1e-6, "{used}");
    assert_eq!(stores[1].charge_cpu("b", budget, 0.0).await.expect("check"), Admission::Admitted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_is_503_with_retry_after_then_recovers() {
    let Some(pg) = Postgres::start() else { return };
    let (state, app) = node(&pg.url, config(Some((1000.0, 1000)))).await;
    let r = send(&app, post("/v1/scripts", Some(KEY_A), &json!({"code": "'still here'"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["id"].as_str().expect("id").to_string();
    assert_eq!(send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": "1"}))).await.status, StatusCode::OK);

    pg.stop();
    for (what, req) in [
        ("execute", post("/v1/execute", Some(KEY_A), &json!({"code": "1"}))),
        ("store a script", post("/v1/scripts", Some(KEY_A), &json!({"code": "2"}))),
        ("run a stored script", post(&format!("/v1/scripts/{id}/run"), Some(KEY_A), &json!({}))),
    ] {
        let started = Instant::now();
        let r = send(&app, req).await;
        let took = started.elapsed();
        assert_eq!(
            (r.status, r.kind().as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            "{what}: {}",
            r.text
        );
        assert!(r.headers.contains_key(header::RETRY_AFTER), "{what}");
        // Bounded by the connect and statement timeouts (2 s each by default).
        assert!(took < Duration::from_secs(5), "{what} took {took:?}");
    }
    // A tenant without a rate quota needs nothing from the store to run code: it still runs
    // (its run is missing from the log, and counted as such).
    let r = send(&app, post("/v1/execute", Some(KEY_B), &json!({"code": "'no store needed'"}))).await;
    assert_eq!((r.status, r.json()["value"].clone()), (StatusCode::OK, json!("no store needed")), "{}", r.text);

    pg.start_again();
    let app2 = app.clone();
    sandvm_testkit::wait_until_async_with(Duration::from_secs(30), "the API recovers", || {
        let app = app2.clone();
        async move { send(&app, post("/v1/execute", Some(KEY_A), &json!({"code": "1"}))).await.status == StatusCode::OK }
    })
    .await;
    let r = send(&app, post(&format!("/v1/scripts/{id}/run"), Some(KEY_A), &json!({}))).await;
    assert_eq!((r.status, r.json()["value"].clone()), (StatusCode::OK, json!("still here")), "{}", r.text);
    state.shutdown().await;
    drop(pg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_or_a_bad_url_is_a_quick_typed_error() {
    // Nothing listens on this port (bound, then closed): the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let started = Instant::now();
    match PostgresStore::connect(&format!("postgres://sandvm@127.0.0.1:{port}/x"), PostgresOptions::default()).await {
        Err(e @ ServerError::StoreUnavailable { .. }) => {
            assert!(e.to_string().contains(&format!("127.0.0.1:{port}/x")), "{e}");
            assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        other => panic!("expected StoreUnavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    let r = PostgresStore::connect("postgres://user:secret-pw@host:notaport/db", PostgresOptions::default()).await;
    match r {
        Err(e @ ServerError::Config { .. }) => assert!(!e.to_string().contains("secret-pw"), "{e}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_migrates_and_its_scripts_stay_javascript() {
    let Some(pg) = Postgres::start() else { return };
    // The schema of version 1 (before stored scripts had a language), as an older sandvm left it.
    let db = sql(&pg.url).await;
    db.batch_execute(
        "CREATE TABLE sandvm_schema_version (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE sandvm_scripts (tenant text NOT NULL, id text NOT NULL, code text NOT NULL, filename text NOT NULL,
             strict boolean NOT NULL, created_ms bigint NOT NULL, PRIMARY KEY (tenant, id));
         CREATE TABLE sandvm_script_counts (tenant text PRIMARY KEY, n bigint NOT NULL);
         CREATE TABLE sandvm_rate_buckets (tenant text PRIMARY KEY, tokens double precision NOT NULL,
             updated_ms double precision NOT NULL, admitted boolean NOT NULL);
         CREATE TABLE sandvm_executions (seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, tenant text NOT NULL,
             job_kind text NOT NULL, outcome text NOT NULL, started_ms bigint NOT NULL, wall_ms double precision NOT NULL,
             cpu_ms double precision NOT NULL, queue_ms double precision NOT NULL);
         CREATE INDEX sandvm_executions_by_tenant ON sandvm_executions (tenant, seq);
         INSERT INTO sandvm_scripts VALUES ('a', 's_old', '6 * 7', 'old.js', false, 1);
         INSERT INTO sandvm_script_counts VALUES ('a', 1);
         INSERT INTO sandvm_schema_version (version) VALUES (1);",
    )
    .await
    .expect("a version 1 database");
    let (state, app) = node(&pg.url, config(None)).await;
    let old = state.store().get("a", "s_old").await.expect("get").expect("the old row");
    assert_eq!(old.language, sandvm::Language::JavaScript);
    let r = send(&app, post("/v1/scripts/s_old/run", Some(KEY_A), &json!({}))).await;
    assert_eq!(r.json()["value"], 42, "{}", r.text);
    let versions: Vec<i64> = db
        .query("SELECT version FROM sandvm_schema_version ORDER BY version", &[])
        .await
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=sandvm_server::store::SCHEMA_VERSION).collect::<Vec<_>>());
    // The column refuses a language this version does not know.
    let bad = db.execute("UPDATE sandvm_scripts SET language = 'coffee' WHERE id = 's_old'", &[]).await;
    assert!(bad.is_err(), "the CHECK constraint holds");
    state.shutdown().await;
}
