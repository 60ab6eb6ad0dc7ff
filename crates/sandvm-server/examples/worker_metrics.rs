//! What a worker node serves with `sandvm worker --metrics-addr HOST:PORT`: the routes of
//! `sandvm_server::telemetry::worker_metrics_router` on a free loopback port, over a pool that
//! has run a few jobs (no broker needed here: the jobs go straight to the pool, so the
//! `sandvm_worker_jobs_*` counters, which count queue deliveries, stay absent; the cluster test
//! in `crates/sandvm-cli/tests/cluster.rs` checks those against a real nats-server).
//!
//! `cargo run -p sandvm-server --example worker_metrics`

use std::sync::Arc;

use sandvm_pool::{Job, Pool, PoolConfig, TenantConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One `GET path` over HTTP/1.1; the response body.
async fn get(addr: std::net::SocketAddr, path: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).await?;
    let (head, body) = raw.split_once("\r\n\r\n").ok_or("no end of headers")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("GET {path}: {head}").into());
    }
    Ok(body.to_string())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The recorder first, as `sandvm worker` does, so that the pool's first samples are kept.
    let _ = sandvm_server::telemetry::prometheus();
    let pool = Arc::new(Pool::new(PoolConfig { workers: 1, ..Default::default() })?);
    pool.add_tenant("acme", TenantConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = tokio::spawn(sandvm_server::telemetry::serve_worker_metrics(listener, pool.clone()));

    for code in ["6 * 7", "'a'.repeat(3)", "nope("] {
        let out = pool.execute("acme", Job::source(code)).await;
        let said = match out {
            Ok(o) => match &o.report.error {
                Some(e) => format!("{} ({})", e.kind, e.message),
                None => format!("{} {}", o.report.status, o.report.display),
            },
            Err(e) => e.to_string(),
        };
        println!("{code:<14} -> {said}");
    }
    println!("GET /healthz -> {}", get(addr, "/healthz").await?);
    let text = get(addr, "/metrics").await?;
    let wanted = [sandvm_pool::names::EXECUTIONS, "sandvm_pool_running_jobs", "sandvm_tenant_cpu_ms_total"];
    let lines: Vec<&str> =
        text.lines().filter(|l| !l.starts_with('#') && wanted.iter().any(|w| l.starts_with(w))).collect();
    println!("GET /metrics (excerpt):");
    for l in &lines {
        println!("  {l}");
    }
    let runs: f64 = lines
        .iter()
        .filter(|l| l.starts_with(sandvm_pool::names::EXECUTIONS))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum();
    if runs != 3.0 {
        return Err(format!("expected 3 executions in /metrics, saw {runs}:\n{text}").into());
    }
    served.abort();
    pool.shutdown_within(std::time::Duration::from_secs(2)).await;
    Ok(())
}
