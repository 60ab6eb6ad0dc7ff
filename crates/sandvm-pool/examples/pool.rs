//! A pool of 2 worker threads running jobs for one tenant, through the async API.
//!
//! `cargo run -p sandvm-pool --example pool`

use std::time::Duration;

use sandvm_pool::{Job, Limits, Pool, PoolConfig, PoolError, TenantConfig};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), PoolError> {
    let pool = Pool::new(PoolConfig { workers: 2, ..Default::default() })?;
    pool.add_tenant("demo", TenantConfig::default());

    // A job with globals; the outcome's report is the JSON contract of `sandvm run --json`.
    let out = pool
        .execute(
            "demo",
            Job::source("console.log('hello', name); [1, 2, 3].map(x => x * k)")
                .with_globals(json!({"name": "pool", "k": 10})),
        )
        .await?;
    println!("{}", serde_json::to_string(&out.report).unwrap_or_default());

    // Limits are per job: this one times out.
    let quick = Limits { timeout: Some(Duration::from_millis(50)), ..Default::default() };
    let out = pool.execute("demo", Job::source("while (true) {}").with_limits(quick)).await?;
    println!("looping job -> {}", out.error_kind().unwrap_or("ok"));

    // Many jobs at once; each gets its own fresh context.
    let handles: Vec<_> =
        (0..8).map(|i| pool.submit("demo", Job::source(format!("{i} ** 2")))).collect::<Result<_, _>>()?;
    for h in handles {
        let o = h.result().await?;
        print!("{} ", o.report.display);
    }
    println!();

    // Cancel a running job.
    let long = Limits { timeout: Some(Duration::from_secs(30)), ..Default::default() };
    let h = pool.submit("demo", Job::source("for (;;) {}").with_limits(long))?;
    let c = h.canceller();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        c.cancel();
    });
    println!("cancelled job -> {:?}", h.result().await.err());

    println!("{}", serde_json::to_string_pretty(&pool.stats()).unwrap_or_default());
    pool.shutdown().await;
    Ok(())
}
