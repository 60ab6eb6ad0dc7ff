//! Per-run overhead of a precompiled script in a warm context, by what the caller wants back
//! (`Want::ALL`, `VALUE`, `NONE`), next to the raw engine calling the same code. Stable under
//! `valgrind --tool=callgrind` (a fixed number of runs: `RUNS`, default 20,000):
//!
//! ```sh
//! cargo build --release -p sandvm --example run_overhead_bench
//! RUNS=20000 MODE=value valgrind --tool=callgrind target/release/examples/run_overhead_bench
//! ```
//!
//! `MODE` is `all`, `value`, `none`, `raw` or `every` (default: each in turn, timed).

use std::time::Instant;

use sandvm::{Context, ContextOptions, Limits, Runtime, Script, Want};

const SRC: &str = "globalThis.x = (globalThis.x|0)+1";

fn sandvm_runs(runs: u64, want: Want) -> sandvm::Result<f64> {
    let rt = Runtime::new(Limits { timeout: None, ..Default::default() })?;
    let ctx = Context::new(&rt, ContextOptions::default())?;
    let script = Script::new(SRC, "bench.js")?;
    ctx.run_wanting(&script, want)?;
    let t = Instant::now();
    for _ in 0..runs {
        let c = ctx.run_wanting(&script, want)?;
        std::hint::black_box(c);
    }
    Ok(t.elapsed().as_nanos() as f64 / runs as f64)
}

fn raw_runs(runs: u64) -> Result<f64, Box<dyn std::error::Error>> {
    let rt = rquickjs::Runtime::new()?;
    let ctx = rquickjs::Context::full(&rt)?;
    let func = ctx.with(|ctx| -> rquickjs::Result<rquickjs::Persistent<rquickjs::Function<'static>>> {
        let f: rquickjs::Function = ctx.eval(format!("(function() {{ return {SRC} }})"))?;
        Ok(rquickjs::Persistent::save(&ctx, f))
    })?;
    let t = Instant::now();
    for _ in 0..runs {
        ctx.with(|ctx| -> rquickjs::Result<()> {
            let f = func.clone().restore(&ctx)?;
            let v: f64 = f.call(())?;
            std::hint::black_box(v);
            Ok(())
        })?;
    }
    Ok(t.elapsed().as_nanos() as f64 / runs as f64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: u64 = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(20_000);
    let mode = std::env::var("MODE").unwrap_or_else(|_| "every".into());
    let every = mode == "every";
    if every || mode == "raw" {
        println!("raw engine      {:>8.0} ns/run", raw_runs(runs)?);
    }
    for (name, want) in [("all", Want::ALL), ("value", Want::VALUE), ("none", Want::NONE)] {
        if every || mode == name {
            println!("sandvm {name:<8} {:>8.0} ns/run", sandvm_runs(runs, want)?);
        }
    }
    Ok(())
}
