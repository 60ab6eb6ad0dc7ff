//! Two tenants with different quotas sharing one pool: a noisy tenant floods the pool with
//! looping jobs and hits its queue quota; held to one worker at a time, it leaves the other
//! worker to the quiet tenant, whose jobs finish at once.
//!
//! `cargo run -p sandvm-pool --example multi_tenant`
//! (`-- process` runs the workers as child processes of `sandvm-pool-worker`; build it
//! first with `cargo build -p sandvm-pool --bins`.)

use std::time::{Duration, Instant};

use sandvm_pool::{Isolation, Job, Limits, Pool, PoolConfig, PoolError, RateQuota, TenantConfig};

fn main() -> Result<(), PoolError> {
    let process = std::env::args().nth(1).as_deref() == Some("process");
    let mut config = PoolConfig { workers: 2, ..Default::default() };
    if process {
        config.isolation = Isolation::Process;
        let exe = std::env::current_exe().map_err(|e| PoolError::Worker(e.to_string()))?;
        // target/<profile>/examples/multi_tenant -> target/<profile>/sandvm-pool-worker
        config.worker_binary = exe.parent().and_then(|d| d.parent()).map(|d| d.join("sandvm-pool-worker"));
        config.worker_args = Vec::new();
    }
    let pool = Pool::new(config)?;
    pool.add_tenant(
        "noisy",
        TenantConfig {
            max_concurrency: 1,
            max_queued: 6,
            default_limits: Limits { timeout: Some(Duration::from_millis(100)), ..Default::default() },
            ..Default::default()
        },
    );
    pool.add_tenant(
        "quiet",
        TenantConfig { rate: Some(RateQuota { per_second: 100.0, burst: 20 }), ..Default::default() },
    );

    let start = Instant::now();
    let mut noisy = Vec::new();
    for i in 0..10 {
        match pool.submit("noisy", Job::source("for (;;) {}")) {
            Ok(h) => noisy.push(h),
            Err(e) => println!("noisy job {i}: refused at once: {e}"),
        }
    }
    let quiet: Vec<_> =
        (0..5).map(|i| pool.submit("quiet", Job::source(format!("'quiet job {i}'")))).collect::<Result<_, _>>()?;
    for h in quiet {
        let o = h.wait()?;
        println!(
            "{:>6.1} ms  {} (waited {:.1} ms in the queue)",
            start.elapsed().as_secs_f64() * 1e3,
            o.report.display,
            o.queue_ms
        );
    }
    for h in noisy {
        let o = h.wait()?;
        println!("{:>6.1} ms  noisy job -> {}", start.elapsed().as_secs_f64() * 1e3, o.error_kind().unwrap_or("ok"));
    }
    // One tenant's globals never leak into another's.
    pool.execute_blocking("noisy", Job::source("globalThis.secret = 42; Object.prototype.evil = true"))?;
    let o = pool.execute_blocking("quiet", Job::source("[typeof secret, ({}).evil]"))?;
    println!("quiet sees: {}", o.report.display);
    let s = pool.stats();
    for (name, t) in &s.tenants {
        println!("{name}: outcomes {:?}, rejected {:?}, cpu {:.1} ms", t.outcomes, t.rejected, t.cpu_ms_total);
    }
    pool.shutdown_blocking();
    Ok(())
}
