//! The Rust side of `bench/python`: the same workloads through the same path the Python
//! binding takes (`sandvm::Executor` jobs waited on from the calling thread), without Python,
//! so the binding's own overhead is the difference. Prints one JSON object (seconds per op).
//!
//! `cargo run --release -p sandvm-python --example rust_roundtrip_bench`

use std::time::{Duration, Instant};

use sandvm::{Context, ContextOptions, Executor, ExecutorConfig, Limits, Runtime};
use serde_json::{json, Value as Json};

type Job = Box<dyn FnOnce(&mut Context) -> sandvm::Result<sandvm::Completion> + Send>;

const WARM: &str = "[1,2,3].map(v=>v*2).reduce((a,b)=>a+b)";

/// Median seconds per call of `f` over 5 batches.
fn per_op(mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    f();
    let one = t.elapsed().as_secs_f64().max(1e-7);
    let n = ((0.06 / one) as usize).max(1);
    let mut samples: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_secs_f64() / n as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[2]
}

fn main() -> sandvm::Result<()> {
    let limits = Limits { timeout: None, ..Limits::default() };
    let l2 = limits.clone();
    let sb = Executor::new(ExecutorConfig::default(), move || {
        let ctx = Context::new(&Runtime::new(l2.clone())?, ContextOptions::default())?;
        ctx.eval("function f(o) { return o.qty * o.price } function id(d) { return d }")?;
        Ok(ctx)
    })?;
    let fresh_exec = Executor::new(ExecutorConfig::default(), || Ok(()))?;
    let small = json!({"name": "Ada", "qty": 3, "price": 9.5});
    let items: Vec<Json> = (0..120)
        .map(|i| json!({"id": i, "name": format!("item {i}"), "tags": ["a", "b"], "price": i as f64 * 1.5, "ok": i % 2 == 0}))
        .collect();
    let doc = json!({ "items": items });
    let run = |job: Job| sb.run(None, job).and_then(|r| r).map(|c| c.value);
    let fresh = per_op(|| {
        let l = limits.clone();
        let _ = fresh_exec.run(Some(Duration::from_secs(5)), move |_| {
            let ctx = Context::new(&Runtime::new(l)?, ContextOptions::default())?;
            ctx.eval("1+1").map(|c| (c.value, ctx.take_console(), ctx.stats()))
        });
    });
    let warm = per_op(|| {
        let _ = run(Box::new(|ctx| ctx.eval(WARM)));
    });
    let call = per_op(|| {
        let a = small.clone();
        let _ = run(Box::new(move |ctx| ctx.call("f", &[a])));
    });
    let json_io = per_op(|| {
        let d = doc.clone();
        let _ = run(Box::new(move |ctx| ctx.call("id", &[d])));
    });
    println!("{}", json!({"fresh": fresh, "warm": warm, "call": call, "json": json_io}));
    Ok(())
}
