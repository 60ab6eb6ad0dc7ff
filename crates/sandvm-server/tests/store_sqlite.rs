//! The embedded SQLite store: stored scripts survive a restart, tenants stay isolated, the
//! `max_scripts` quota holds under concurrent inserts, the rate bucket and the CPU budget
//! window persist (and are shared by two servers on one file), every run is
//! logged, and a hostile data directory or database file is a typed error.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use common::*;
use sandvm_server::store::{DATABASE_FILE, SCHEMA_VERSION};
use sandvm_server::{router, AppState, ScriptRecord, ScriptStore, ServerConfig, ServerError, SqliteStore};
use serde_json::json;

const KEY_A: &str = "sqlite-key-a";
const KEY_B: &str = "sqlite-key-b";

/// Tenant `a` (with the rate quota, if any) and tenant `b`, one pool worker.
fn config(rate: Option<(f64, u32)>) -> ServerConfig {
    two_tenants(rate, KEY_A, KEY_B)
}

fn node(dir: &std::path::Path, config: ServerConfig) -> (AppState, axum::Router) {
    let store = SqliteStore::open_dir(dir).expect("open the store");
    let state = AppState::with_store(config, Arc::new(store)).expect("state");
    (state.clone(), router(state))
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
async fn a_stored_script_survives_a_restart_and_stays_with_its_tenant() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let id = {
        let (state, app) = node(&dir, config(None));
        let r = send(&app, post("/v1/scripts", Some(KEY_A), &json!({"code": "'kept ' + (6 * 7)"}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.json()["id"].as_str().expect("id").to_string();
        let r = send(&app, post(&format!("/v1/scripts/{id}/run"), Some(KEY_A), &json!({}))).await;
        assert_eq!(r.json()["value"], "kept 42", "{}", r.text);
        state.shutdown().await;
        id
    };
    // The data directory was created private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).expect("data dir").permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    }
    let (state, app) = node(&dir, config(None));
    let r = send(&app, post(&format!("/v1/scripts/{id}/run"), Some(KEY_A), &json!({}))).await;
    assert_eq!((r.status, r.json()["value"].clone()), (StatusCode::OK, json!("kept 42")), "{}", r.text);
    // Another tenant cannot see it, run it or delete it.
    let r = send(&app, post(&format!("/v1/scripts/{id}/run"), Some(KEY_B), &json!({}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::NOT_FOUND, "not_found"), "{}", r.text);
    let del = |key| {
        axum::http::Request::delete(format!("/v1/scripts/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(axum::body::Body::empty())
            .expect("request")
    };
    assert_eq!(send(&app, del(KEY_B)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(send(&app, del(KEY_A)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(&app, post(&format!("/v1/scripts/{id}/run"), Some(KEY_A), &json!({}))).await.status,
        StatusCode::NOT_FOUND
    );
    // Every run is in the execution log, with no code and no result.
    let log = state.store().executions("a", 10).await.expect("log");
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|r| r.tenant == "a" && r.job_kind == "script" && r.outcome == "ok"), "{log:?}");
    assert!(state.store().executions("b", 10).await.expect("log").is_empty());
    state.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_scripts_holds_under_concurrent_inserts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open_dir(tmp.path()).expect("open"));
    let max = 5;
    for i in 0..max - 1 {
        store.insert(record("a", &format!("s_{i}")), max).await.expect("below the quota");
    }
    // Many inserts race for the last slot: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = store.clone();
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
    assert_eq!(store.count("a").await.expect("count"), max);
    // The same through a second handle on the file (another process would do the same).
    let other = SqliteStore::open_dir(tmp.path()).expect("second handle");
    assert!(matches!(other.insert(record("a", "s_late"), max).await, Err(ServerError::QuotaExceeded { .. })));
    other.insert(record("b", "s_0"), max).await.expect("another tenant has its own quota");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_bucket_persists_across_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Three tokens, refilled at one per thousand seconds: no refill during the test.
    let rate = Some((0.001, 3));
    let run = json!({"code": "1"});
    {
        let (state, app) = node(tmp.path(), config(rate));
        for _ in 0..2 {
            let r = send(&app, post("/v1/execute", Some(KEY_A), &run)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
        state.shutdown().await;
    }
    let (state, app) = node(tmp.path(), config(rate));
    assert_eq!(send(&app, post("/v1/execute", Some(KEY_A), &run)).await.status, StatusCode::OK);
    let r = send(&app, post("/v1/execute", Some(KEY_A), &run)).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"), "{}", r.text);
    let wait: u64 = r.headers[header::RETRY_AFTER].to_str().expect("ascii").parse().expect("seconds");
    assert!((900..=1000).contains(&wait), "Retry-After {wait}");
    // Templates draw from the same bucket; tenant b has no rate quota.
    let r = send(&app, post("/v1/templates/render", Some(KEY_A), &json!({"template": "x"}))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(send(&app, post("/v1/execute", Some(KEY_B), &run)).await.status, StatusCode::OK);
    // Refused requests are not runs: one logged run since the restart, three in all.
    assert_eq!(state.store().executions("a", 10).await.expect("log").len(), 3);
    state.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cpu_budget_is_shared_by_two_servers_on_one_file_and_persists() {
    let single = single_node_cpu_budget_refusal(KEY_A, KEY_B).await;
    let single_message = assert_cpu_budget_refusal(&single);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, app_a) = node(tmp.path(), with_cpu_budget(config(None)));
    let (b, app_b) = node(tmp.path(), with_cpu_budget(config(None)));
    assert_eq!(send(&app_b, post("/v1/execute", Some(KEY_A), &json!({"code": "1"}))).await.status, StatusCode::OK);
    burn_the_cpu_budget(&app_a, KEY_A).await;
    let r = send(&app_b, post("/v1/execute", Some(KEY_A), &json!({"code": "1"}))).await;
    assert_eq!(assert_cpu_budget_refusal(&r), single_message);
    assert_eq!(send(&app_b, post("/v1/execute", Some(KEY_B), &json!({"code": "1"}))).await.status, StatusCode::OK);
    a.shutdown().await;
    b.shutdown().await;
    drop((app_a, app_b));
    // The window is in the file: a restarted server still refuses.
    let (c, app_c) = node(tmp.path(), with_cpu_budget(config(None)));
    let r = send(&app_c, post("/v1/templates/render", Some(KEY_A), &json!({"template": "x"}))).await;
    assert_eq!(assert_cpu_budget_refusal(&r), single_message);
    c.shutdown().await;
}

#[test]
fn a_data_dir_that_is_a_file_is_a_typed_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    match SqliteStore::open_dir(&file) {
        Err(e @ ServerError::Store { kind: "store_io", .. }) => {
            assert!(e.to_string().contains("not a directory"), "{e}");
        }
        other => panic!("expected store_io, got {other:?}"),
    }
    // A data directory under a file cannot be created.
    match SqliteStore::open_dir(&file.join("sub")) {
        Err(ServerError::Store { kind: "store_io", message }) => {
            assert!(message.contains("cannot create"), "{message}")
        }
        other => panic!("expected store_io, got {other:?}"),
    }
}

#[test]
fn a_corrupt_database_is_a_typed_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join(DATABASE_FILE), vec![0x5a; 8192]).expect("write garbage");
    match SqliteStore::open_dir(tmp.path()) {
        Err(e @ ServerError::Store { kind: "store_corrupt", .. }) => {
            assert!(e.to_string().contains(DATABASE_FILE), "{e}");
        }
        other => panic!("expected store_corrupt, got {other:?}"),
    }
}

#[test]
fn a_database_locked_by_another_connection_is_a_typed_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join(DATABASE_FILE);
    drop(SqliteStore::open(&path, Duration::from_secs(1)).expect("create"));
    // Another holder takes the write lock (as another process would) and keeps it.
    let holder = rusqlite::Connection::open(&path).expect("open");
    holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let started = std::time::Instant::now();
    match SqliteStore::open(&path, Duration::from_millis(200)) {
        Err(e @ ServerError::Store { kind: "store_locked", .. }) => assert!(e.to_string().contains("locked"), "{e}"),
        other => panic!("expected store_locked, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    holder.execute_batch("COMMIT").expect("unlock");
    SqliteStore::open(&path, Duration::from_millis(200)).expect("opens once unlocked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_database_at_request_time_is_503_with_retry_after() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join(DATABASE_FILE);
    let store = SqliteStore::open(&path, Duration::from_millis(100)).expect("open");
    let state = AppState::with_store(config(None), Arc::new(store)).expect("state");
    let app = router(state.clone());
    let holder = rusqlite::Connection::open(&path).expect("open");
    holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let r = send(&app, post("/v1/scripts", Some(KEY_A), &json!({"code": "1"}))).await;
    assert_eq!((r.status, r.kind().as_str()), (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"), "{}", r.text);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    holder.execute_batch("COMMIT").expect("unlock");
    let r = send(&app, post("/v1/scripts", Some(KEY_A), &json!({"code": "1"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    state.shutdown().await;
}

#[test]
fn a_newer_schema_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join(DATABASE_FILE);
    drop(SqliteStore::open(&path, Duration::from_secs(1)).expect("create"));
    let c = rusqlite::Connection::open(&path).expect("open");
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    assert_eq!(v, SCHEMA_VERSION);
    c.pragma_update(None, "user_version", SCHEMA_VERSION + 1).expect("bump");
    drop(c);
    match SqliteStore::open(&path, Duration::from_secs(1)) {
        Err(e @ ServerError::StoreSchemaTooNew { .. }) => {
            assert!(e.to_string().contains("upgrade sandvm"), "{e}");
            assert_eq!(e.kind(), "store_schema_too_new");
        }
        other => panic!("expected StoreSchemaTooNew, got {other:?}"),
    }
}

/// The schema of version 1 (before stored scripts had a language), as an older sandvm left it.
const SCHEMA_V1: &str = "
    CREATE TABLE scripts (tenant TEXT NOT NULL, id TEXT NOT NULL, code TEXT NOT NULL, filename TEXT NOT NULL,
        strict INTEGER NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID;
    CREATE TABLE rate_buckets (tenant TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_ms INTEGER NOT NULL,
        admitted INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE executions (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,
        job_kind TEXT NOT NULL, outcome TEXT NOT NULL, started_ms INTEGER NOT NULL, wall_ms REAL NOT NULL,
        cpu_ms REAL NOT NULL, queue_ms REAL NOT NULL);
    CREATE INDEX executions_by_tenant ON executions (tenant, seq);
    INSERT INTO scripts VALUES ('a', 's_old', '6 * 7', 'old.js', 0, 1);
    PRAGMA user_version = 1;
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_migrates_and_typescript_scripts_survive_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).expect("data dir");
    let c = rusqlite::Connection::open(dir.join(DATABASE_FILE)).expect("create v1");
    c.execute_batch(SCHEMA_V1).expect("v1 schema");
    drop(c);
    let ts = "type Pair = [number, number];\nconst pair: Pair = [6, 7];\nif (pair.length > 2) throw new Error('x');\nfunction mul(a: number, b: number): number {\n  if (a > 100) throw new RangeError('too big');\n  return a * b;\n}\nmul(pair[0] + (typeof k === 'number' ? k : 0), pair[1])";
    let id = {
        let (state, app) = node(&dir, config(None));
        // The older row reads as JavaScript and still runs.
        let old = state.store().get("a", "s_old").await.expect("get").expect("the old row");
        assert_eq!(old.language, sandvm::Language::JavaScript);
        let r = send(&app, post("/v1/scripts/s_old/run", Some(KEY_A), &json!({}))).await;
        assert_eq!(r.json()["value"], 42, "{}", r.text);
        let r = send(
            &app,
            post("/v1/scripts", Some(KEY_A), &json!({"code": ts, "language": "typescript", "filename": "mul.ts"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.json()["id"].as_str().expect("id").to_string();
        state.shutdown().await;
        id
    };
    let c = rusqlite::Connection::open(dir.join(DATABASE_FILE)).expect("open");
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    assert_eq!(v, SCHEMA_VERSION);
    drop(c);
    let (state, app) = node(&dir, config(None));
    let got = state.store().get("a", &id).await.expect("get").expect("kept");
    assert_eq!((got.language, got.filename.as_str()), (sandvm::Language::TypeScript, "mul.ts"));
    let run = format!("/v1/scripts/{id}/run");
    let r = send(&app, post(&run, Some(KEY_A), &json!({}))).await;
    assert_eq!(r.json()["value"], 42, "{}", r.text);
    let r = send(&app, post(&run, Some(KEY_A), &json!({"globals": {"k": 1000}}))).await;
    let e = &r.json()["error"];
    assert_eq!((e["name"].as_str(), e["line"].as_i64()), (Some("RangeError"), Some(5)), "{}", r.text);
    assert!(e["stack"].as_str().is_some_and(|s| s.contains("mul.ts:5:")), "{}", r.text);
    state.shutdown().await;
}
