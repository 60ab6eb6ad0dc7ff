//! Store latency on this machine: insert, get, rate-token and execution-log operations,
//! one at a time, for the SQLite store (a temporary directory) and the PostgreSQL store (a
//! throwaway server on loopback, started like the tests do; needs PostgreSQL installed, see
//! `tests/common/postgres.rs`). Prints p50/p99/mean per operation.
//!
//! `cargo run --release -p sandvm-server --example store_bench [-- N]` (N operations each,
//! default 2000).

#[path = "../tests/common/postgres.rs"]
#[allow(dead_code)]
mod postgres;

use std::sync::Arc;
use std::time::Instant;

use sandvm_pool::RateQuota;
use sandvm_server::{ExecutionRecord, PostgresOptions, PostgresStore, ScriptRecord, ScriptStore, SqliteStore};

fn summary(name: &str, what: &str, mut us: Vec<f64>) {
    us.sort_by(f64::total_cmp);
    let at = |q: f64| us[((us.len() as f64 - 1.0) * q).round() as usize];
    let mean = us.iter().sum::<f64>() / us.len() as f64;
    println!(
        "{name:<10} {what:<14} n={:<6} p50 {:>8.1} µs  p99 {:>8.1} µs  mean {:>8.1} µs",
        us.len(),
        at(0.5),
        at(0.99),
        mean
    );
}

async fn bench(name: &str, store: Arc<dyn ScriptStore>, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let code = "function f(x) { return x * 2; } f(21)".repeat(8);
    let mut ins = Vec::with_capacity(n);
    for i in 0..n {
        let r = ScriptRecord {
            id: format!("s_bench{i:08}"),
            tenant: "bench".into(),
            code: code.clone(),
            filename: "bench.js".into(),
            strict: false,
            language: sandvm::Language::JavaScript,
            created_ms: 0,
        };
        let t = Instant::now();
        store.insert(r, usize::MAX >> 1).await?;
        ins.push(t.elapsed().as_secs_f64() * 1e6);
    }
    summary(name, "insert", ins);
    let mut get = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("s_bench{:08}", (i * 7919) % n);
        let t = Instant::now();
        let found = store.get("bench", &id).await?;
        get.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(found.is_some());
    }
    summary(name, "get", get);
    let rate = RateQuota { per_second: 1e9, burst: u32::MAX };
    let mut tok = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        store.take_rate_token("bench", rate).await?;
        tok.push(t.elapsed().as_secs_f64() * 1e6);
    }
    summary(name, "rate token", tok);
    let mut log = Vec::with_capacity(n);
    for i in 0..n {
        let rec = ExecutionRecord {
            id: format!("x_bench{i:08}"),
            tenant: "bench".into(),
            job_kind: "execute".into(),
            outcome: "ok".into(),
            started_ms: 0,
            wall_ms: 1.0,
            cpu_ms: 1.0,
            queue_ms: 0.0,
        };
        let t = Instant::now();
        store.log_execution(rec).await?;
        log.push(t.elapsed().as_secs_f64() * 1e6);
    }
    summary(name, "log execution", log);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let dir = tempfile::tempdir()?;
        let sqlite = SqliteStore::open_dir(dir.path())?;
        bench("sqlite", Arc::new(sqlite), n).await?;
        match postgres::Postgres::start() {
            Some(pg) => {
                let store = PostgresStore::connect(&pg.url, PostgresOptions::default()).await?;
                bench("postgres", Arc::new(store), n).await?;
            }
            None => println!("postgres   skipped (not installed)"),
        }
        Ok(())
    })
}
