//! 100,000 runs in one runtime keep RSS flat: tiny evals, plus periodically scripts (compiled,
//! cached data, run), host functions, compiled functions, globals, contexts created and dropped,
//! and limit hits that replace the engine. Alone in its own test binary so that nothing else
//! allocates in the process while RSS is measured.

mod common;

use common::rss_kib;

use std::time::{Duration, Instant};

use sandvm::{Context, ContextOptions, Error, Limits, Runtime, Script};
use serde_json::json;

/// RSS may grow by at most this much between the end of the warm-up and the end of the run.
/// A leak of 50 bytes per run would be ~4.5 MiB over the 95,000 measured runs; allocator noise and
/// the engine's own caches stay far below this (measured: under 100 KiB).
const TOLERANCE_KIB: u64 = 4 * 1024;
const RUNS: usize = 100_000;
const WARMUP: usize = 5_000;

#[test]
fn a_hundred_thousand_runs_keep_rss_flat() {
    let started = Instant::now();
    let limits = Limits { timeout: Some(Duration::from_millis(50)), memory: 16 * 1024 * 1024, ..Default::default() };
    let rt = Runtime::new(limits).unwrap();
    let ctx = Context::new(&rt, ContextOptions::default()).unwrap();
    ctx.set_global("input", &json!({"n": 2, "items": [1, 2, 3]})).unwrap();
    ctx.register_fn("hostMul", |(a, b): (f64, f64)| Ok::<_, String>(a * b)).unwrap();
    let script = Script::new("input.items.map(x => hostMul(x, input.n)).join()", "leak.js").unwrap();
    let f = ctx.compile_function(&["a", "b"], "return a + b").unwrap();
    let mut before = 0;
    let mut peak_after_warmup = 0;
    for i in 0..RUNS {
        if i == WARMUP {
            rt.run_gc();
            before = rss_kib();
        }
        match i % 1000 {
            // A context created, used and dropped, with its own globals and host function.
            1 => {
                let c = Context::new(&rt, ContextOptions::default()).unwrap();
                c.set_global("g", &json!({"k": [i]})).unwrap();
                c.register_fn("inc", |(x,): (f64,)| Ok::<_, String>(x + 1.0)).unwrap();
                c.set_global("input", &json!({"n": 2, "items": [1, 2, 3]})).unwrap();
                c.register_fn("hostMul", |(a, b): (f64, f64)| Ok::<_, String>(a * b)).unwrap();
                assert_eq!(c.eval("inc(g.k[0])").unwrap().value, Some(json!(i + 1)));
                assert_eq!(script.run_in(&c).unwrap().value, Some(json!("2,4,6")));
            }
            // A fresh script each time, through authenticated cached data.
            2 => {
                let s = Script::new(&format!("{i} + 1"), "fresh.js").unwrap();
                let again = Script::with_cached_data(&format!("{i} + 1"), &s.cached_data()).unwrap();
                assert_eq!(again.run_in(&ctx).unwrap().value, Some(json!(i + 1)));
            }
            // Limit hits replace the engine (contexts rebuild from their setup).
            3 => assert_eq!(ctx.eval("for (;;) {}"), Err(Error::Timeout)),
            4 => assert_eq!(ctx.eval("const a = []; for (;;) a.push(new Array(1e4).fill(1))"), Err(Error::MemoryLimit)),
            5 => assert_eq!(ctx.eval("function r() { r() } r()"), Err(Error::StackOverflow)),
            6 => assert!(matches!(ctx.eval("throw new Error('e')"), Err(Error::Exception { .. }))),
            // A run that leaves objects, promises and console output behind.
            7 => {
                assert_eq!(
                    ctx.eval(
                        "console.log('x', {a: [1]}); (async () => { await null; return {big: 'y'.repeat(1000)} })()"
                    )
                    .unwrap()
                    .value
                    .map(|v| v["big"].as_str().map(str::len)),
                    Some(Some(1000))
                );
                ctx.take_console();
            }
            _ => match i % 4 {
                0 => assert_eq!(ctx.eval("1 + 1").unwrap().value, Some(json!(2))),
                1 => assert_eq!(script.run_in(&ctx).unwrap().value, Some(json!("2,4,6"))),
                2 => assert_eq!(ctx.call_function(&f, &[json!(i), json!(1)]).unwrap().value, Some(json!(i + 1))),
                _ => assert_eq!(ctx.eval("hostMul(3, 4)").unwrap().display, "12"),
            },
        }
        if i > WARMUP && i % 10_000 == 0 {
            peak_after_warmup = peak_after_warmup.max(rss_kib());
        }
    }
    rt.run_gc();
    let after = rss_kib();
    let elapsed = started.elapsed();
    eprintln!(
        "leak_100k: {RUNS} runs in {elapsed:?}; RSS {before} KiB after warm-up, {after} KiB at the end \
         (peak sample {peak_after_warmup} KiB, growth {} KiB, tolerance {TOLERANCE_KIB} KiB); engine generation {}",
        after.saturating_sub(before),
        rt.generation()
    );
    assert!(rt.generation() >= 3 * (RUNS as u64 / 1000) - 3, "limit hits replaced the engine");
    assert!(after <= before + TOLERANCE_KIB, "RSS grew from {before} KiB to {after} KiB over {RUNS} runs");
}
