//! A bounded load test on loopback only: a real listener on 127.0.0.1, keep-alive clients of
//! two tenants sending a mix of good, looping and memory-bomb requests (plus stored-script
//! runs) for a fixed duration. Every response must be well-formed JSON with an expected
//! status; no 5xx but 503 (saturation); no tenant ever sees another's data.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sandvm::Limits;
use sandvm_server::config::{hash_key, PoolSettings, QuotaSettings, TenantEntry};
use sandvm_server::{AppState, ServerConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Fixed duration of the load phase (the whole test stays well under 20 s).
const DURATION: Duration = Duration::from_secs(8);
const CLIENTS_PER_TENANT: usize = 8;

struct Conn {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
    host: String,
}

impl Conn {
    async fn open(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let (r, w) = s.into_split();
        Conn { r: BufReader::new(r), w, host: addr.to_string() }
    }

    /// One request on the keep-alive connection; returns status, headers and body.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        key: &str,
        body: &Value,
    ) -> (u16, BTreeMap<String, String>, String) {
        let body = body.to_string();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.w.write_all(req.as_bytes()).await.expect("write");
        let mut line = String::new();
        self.r.read_line(&mut line).await.expect("status line");
        let status: u16 =
            line.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("bad status line {line:?}"));
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            self.r.read_line(&mut h).await.expect("header");
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap_or_else(|| panic!("bad header {h:?}"));
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no content-length: {headers:?}"));
        let mut buf = vec![0; len];
        self.r.read_exact(&mut buf).await.expect("body");
        (status, headers, String::from_utf8(buf).expect("utf-8 body"))
    }
}

#[derive(Default, Debug)]
struct Tally {
    by_status: BTreeMap<u16, u64>,
    by_outcome: BTreeMap<String, u64>,
    good_latencies_us: Vec<u64>,
}

fn tenant(name: &str) -> TenantEntry {
    TenantEntry {
        name: name.into(),
        api_keys_sha256: vec![hash_key(&format!("key-{name}"))],
        limits: Limits { memory: 16 << 20, ..Limits::default() },
        max_limits: Limits { timeout: Some(std::time::Duration::from_secs(2)), memory: 32 << 20, ..Limits::default() },
        quotas: QuotaSettings { max_queued: 5, ..Default::default() },
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_load_from_two_tenants() {
    let config = ServerConfig {
        pool: PoolSettings { workers: Some(2), queue_capacity: 8, hard_deadline_margin_ms: 300, ..Default::default() },
        tenants: vec![tenant("red"), tenant("blue")],
        ..Default::default()
    };
    let state = AppState::new(config).expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("addr").to_string();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sandvm_server::serve(state.clone(), listener, async {
        let _ = stop_rx.await;
    }));

    // Each tenant stores one script that returns its own secret.
    let mut ids = BTreeMap::new();
    for t in ["red", "blue"] {
        let mut c = Conn::open(&addr).await;
        let (st, _, body) = c
            .call(
                "POST",
                "/v1/scripts",
                &format!("key-{t}"),
                &json!({"code": format!("({{secret: 'secret-of-{t}', n}})")}),
            )
            .await;
        assert_eq!(st, 201, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        ids.insert(t, v["id"].as_str().expect("id").to_string());
    }
    let ids = Arc::new(ids);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (ti, t) in ["red", "blue"].into_iter().enumerate() {
        for c in 0..CLIENTS_PER_TENANT {
            let addr = addr.clone();
            let tally = tally.clone();
            let ids = ids.clone();
            tasks.push(tokio::spawn(async move {
                let other = if t == "red" { "blue" } else { "red" };
                let key = format!("key-{t}");
                let mut conn = Conn::open(&addr).await;
                let mut i: u64 = 0;
                while started.elapsed() < DURATION {
                    i += 1;
                    let tag = format!("{t}-{c}-{i}");
                    let pick = (i + c as u64 + ti as u64) % 10;
                    let (path, body, expect) = match pick {
                        0 => ("/v1/execute".to_string(), json!({"code": "for(;;){}", "timeout_ms": 100}), "timeout"),
                        1 => (
                            "/v1/execute".to_string(),
                            json!({"code": "let a = []; for (;;) a.push(new Array(100000).fill(1.5));", "memory_mb": 8}),
                            "memory_limit",
                        ),
                        2 => (format!("/v1/scripts/{}/run", ids[t]), json!({"globals": {"n": i}}), "own_script"),
                        3 => (format!("/v1/scripts/{}/run", ids[other]), json!({}), "not_found"),
                        _ => (
                            "/v1/execute".to_string(),
                            json!({"code": "globalThis.seen = (globalThis.seen || []).concat(tag); ({tag, who, seen})", "globals": {"tag": tag, "who": t}}),
                            "ok",
                        ),
                    };
                    let t0 = Instant::now();
                    let (status, headers, text) = conn.call("POST", &path, &key, &body).await;
                    let lat = t0.elapsed();
                    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("malformed body ({e}): {text}"));
                    let outcome = match status {
                        200 => {
                            assert!(v["status"] == "ok" || v["status"] == "error", "{text}");
                            match expect {
                                "ok" => {
                                    assert_eq!(v["status"], "ok", "{text}");
                                    assert_eq!(v["value"]["tag"], json!(tag), "another request's value: {text}");
                                    assert_eq!(v["value"]["who"], json!(t), "another tenant's globals: {text}");
                                    assert_eq!(v["value"]["seen"], json!([tag]), "state leaked between requests: {text}");
                                    "ok".to_string()
                                }
                                "own_script" => {
                                    assert_eq!(v["value"]["secret"], json!(format!("secret-of-{t}")), "{text}");
                                    assert_eq!(v["value"]["n"], json!(i), "{text}");
                                    "ok".to_string()
                                }
                                "not_found" => panic!("{t} ran {other}'s script: {text}"),
                                kind => {
                                    assert_eq!(v["error"]["kind"], kind, "{text}");
                                    kind.to_string()
                                }
                            }
                        }
                        404 => {
                            assert_eq!(expect, "not_found", "{text}");
                            assert_eq!(v["error"]["kind"], "not_found");
                            "not_found".to_string()
                        }
                        429 => {
                            assert_eq!(v["error"]["kind"], "quota_exceeded", "{text}");
                            "quota_exceeded".to_string()
                        }
                        503 => {
                            assert_eq!(v["error"]["kind"], "busy", "{text}");
                            assert!(headers.contains_key("retry-after"));
                            "busy".to_string()
                        }
                        other => panic!("unexpected status {other}: {text}"),
                    };
                    assert!(!text.contains(&format!("secret-of-{other}")), "cross-tenant data: {text}");
                    let mut tl = tally.lock().expect("tally");
                    *tl.by_status.entry(status).or_default() += 1;
                    *tl.by_outcome.entry(outcome).or_default() += 1;
                    if expect == "ok" && status == 200 {
                        tl.good_latencies_us.push(lat.as_micros() as u64);
                    }
                }
            }));
        }
    }
    for t in tasks {
        t.await.expect("client task");
    }
    let elapsed = started.elapsed();
    let tally = Arc::try_unwrap(tally).expect("sole owner").into_inner().expect("tally");
    let total: u64 = tally.by_status.values().sum();
    let mut lat = tally.good_latencies_us.clone();
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
    println!(
        "load: {total} requests in {:.1} s ({:.0} req/s); by status {:?}; by outcome {:?}; good p50 {} us, p99 {} us",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        tally.by_status,
        tally.by_outcome,
        pct(0.5),
        pct(0.99)
    );
    assert!(tally.by_outcome.get("ok").copied().unwrap_or(0) > 50, "too few good requests: {tally:?}");
    assert!(tally.by_outcome.get("timeout").copied().unwrap_or(0) > 0, "{tally:?}");
    assert!(tally.by_outcome.get("memory_limit").copied().unwrap_or(0) > 0, "{tally:?}");
    let saturated = tally.by_status.get(&503).copied().unwrap_or(0) + tally.by_status.get(&429).copied().unwrap_or(0);
    assert!(saturated > 0, "the load never saturated the pool: {tally:?}");
    assert!(elapsed < Duration::from_secs(20));

    // The server is healthy afterwards and answers at once.
    let mut c = Conn::open(&addr).await;
    let (st, _, body) = c.call("POST", "/v1/execute", "key-red", &json!({"code": "6 * 7"})).await;
    assert_eq!((st, serde_json::from_str::<Value>(&body).expect("json")["value"].clone()), (200, json!(42)));
    let stats = state.pool().stats();
    assert_eq!(stats.queued, 0);
    println!(
        "pool after load: outcomes {:?}, abandoned threads {}, recycled runtimes {}",
        stats.outcomes, stats.abandoned_threads, stats.recycled_runtimes
    );
    let _ = stop_tx.send(());
    server.await.expect("server task").expect("clean shutdown");
}
