//! Figures (not a test): context start cost pooled vs unpooled, pool throughput of a tiny
//! eval on 2 workers in thread and process modes, and node:vm for comparison.
//!
//! `cargo build --release -p sandvm-pool --bins --examples && target/release/examples/pool_bench`

use std::time::{Duration, Instant};

use sandvm::{Context, ContextOptions, Limits, Runtime};
use sandvm_pool::{Isolation, Job, Pool, PoolConfig, PoolError, TenantConfig};

fn per_op(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn start_costs() -> Result<(), sandvm::Error> {
    const N: usize = 2_000;
    let rt = Runtime::new(Limits { memory: 1024 * 1024 * 1024, ..Default::default() })?;
    // Pooled: the context exists already (made between jobs); the job pays eval + drop.
    let mut timed = Duration::ZERO;
    for _ in 0..N / 200 {
        let ready: Vec<Context> =
            (0..200).map(|_| Context::new(&rt, ContextOptions::default())).collect::<Result<_, _>>()?;
        let t = Instant::now();
        for ctx in ready {
            ctx.eval("1+1")?;
        }
        timed += t.elapsed();
    }
    let pooled = per_op(timed, N);
    // Unpooled: a new context in a warm runtime per job.
    let t = Instant::now();
    for _ in 0..N {
        let ctx = Context::new(&rt, ContextOptions::default())?;
        ctx.eval("1+1")?;
    }
    let unpooled = per_op(t.elapsed(), N);
    // Cold: a new runtime and context per job.
    let t = Instant::now();
    for _ in 0..N {
        let rt = Runtime::new(Limits::default())?;
        let ctx = Context::new(&rt, ContextOptions::default())?;
        ctx.eval("1+1")?;
    }
    let cold = per_op(t.elapsed(), N);
    println!("start + eval(\"1+1\"), one thread:");
    println!("  pooled (pre-warmed context)     {pooled:8.1} us");
    println!("  unpooled (new context, warm rt) {unpooled:8.1} us");
    println!("  cold (new runtime + context)    {cold:8.1} us");
    Ok(())
}

fn throughput(isolation: Isolation, warm: usize, jobs: usize) -> Result<f64, PoolError> {
    let mut config = PoolConfig { workers: 2, isolation, warm_contexts: warm, ..Default::default() };
    if isolation == Isolation::Process {
        let exe = std::env::current_exe().map_err(|e| PoolError::Worker(e.to_string()))?;
        config.worker_binary = exe.parent().and_then(|d| d.parent()).map(|d| d.join("sandvm-pool-worker"));
        config.worker_args = Vec::new();
    }
    let pool = Pool::new(config)?;
    pool.add_tenant("t", TenantConfig { max_queued: 10_000, ..Default::default() });
    // Warm up (process start, first runtime).
    for _ in 0..50 {
        pool.execute_blocking("t", Job::source("1+1"))?;
    }
    let t = Instant::now();
    let mut left = jobs;
    while left > 0 {
        let n = left.min(1_000);
        let hs: Vec<_> = (0..n).map(|_| pool.submit("t", Job::source("1+1"))).collect::<Result<_, _>>()?;
        for h in hs {
            let o = h.wait()?;
            if !o.is_ok() {
                return Err(PoolError::Worker(format!("job failed: {:?}", o.report.error)));
            }
        }
        left -= n;
    }
    let rate = jobs as f64 / t.elapsed().as_secs_f64();
    pool.shutdown_blocking();
    Ok(rate)
}

/// Latency of single jobs arriving with idle gaps (the worker refills its warm contexts in
/// the gaps), median of `n`.
fn latency(isolation: Isolation, warm: usize, n: usize) -> Result<f64, PoolError> {
    let mut config = PoolConfig { workers: 2, isolation, warm_contexts: warm, ..Default::default() };
    if isolation == Isolation::Process {
        let exe = std::env::current_exe().map_err(|e| PoolError::Worker(e.to_string()))?;
        config.worker_binary = exe.parent().and_then(|d| d.parent()).map(|d| d.join("sandvm-pool-worker"));
        config.worker_args = Vec::new();
    }
    let pool = Pool::new(config)?;
    pool.add_tenant("t", TenantConfig::default());
    for _ in 0..20 {
        pool.execute_blocking("t", Job::source("1+1"))?;
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        std::thread::sleep(Duration::from_millis(1));
        let t = Instant::now();
        pool.execute_blocking("t", Job::source("1+1"))?;
        v.push(t.elapsed().as_secs_f64() * 1e6);
    }
    v.sort_by(f64::total_cmp);
    pool.shutdown_blocking();
    Ok(v[n / 2])
}

fn node_vm() {
    let script = r#"
const vm = require('vm');
const N = 2000;
for (let i = 0; i < 200; i++) vm.runInContext('1+1', vm.createContext({}));
let t = process.hrtime.bigint();
for (let i = 0; i < N; i++) vm.runInContext('1+1', vm.createContext({}));
const fresh = Number(process.hrtime.bigint() - t) / 1e3 / N;
const ctx = vm.createContext({});
t = process.hrtime.bigint();
for (let i = 0; i < N; i++) vm.runInContext('1+1', ctx);
const reused = Number(process.hrtime.bigint() - t) / 1e3 / N;
console.log(fresh.toFixed(1) + ' ' + reused.toFixed(1));
"#;
    match std::process::Command::new("node").arg("-e").arg(script).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let mut it = text.split_whitespace();
            println!(
                "node:vm ({}):",
                std::process::Command::new("node")
                    .arg("--version")
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                    .unwrap_or_default()
            );
            println!("  createContext + runInContext    {:>8} us", it.next().unwrap_or("?"));
            println!("  runInContext (reused context)   {:>8} us", it.next().unwrap_or("?"));
        }
        _ => println!("node:vm: node not available"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    start_costs()?;
    node_vm();
    println!("pool latency of one tiny job arriving alone (submit to result, median of 500), 2 workers:");
    for (name, iso) in [("thread", Isolation::Thread), ("process", Isolation::Process)] {
        for warm in [2, 0] {
            let label = if warm > 0 { "pooled contexts" } else { "no pre-warmed contexts" };
            match latency(iso, warm, 500) {
                Ok(us) => println!("  {name:7} {label:24} {us:9.1} us"),
                Err(e) => println!("  {name:7} {label:24} failed: {e}"),
            }
        }
    }
    let jobs = 20_000;
    println!("pool throughput, {jobs} jobs of eval(\"1+1\"), 2 workers, 1 submitting thread:");
    for (name, iso) in [("thread", Isolation::Thread), ("process", Isolation::Process)] {
        for warm in [2, 0] {
            let label = if warm > 0 { "pooled contexts" } else { "no pre-warmed contexts" };
            match throughput(iso, warm, jobs) {
                Ok(r) => println!("  {name:7} {label:24} {r:9.0} jobs/s"),
                Err(e) => println!("  {name:7} {label:24} failed: {e}"),
            }
        }
    }
    Ok(())
}
