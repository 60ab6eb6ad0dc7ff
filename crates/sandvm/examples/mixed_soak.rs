//! Mixed soak: many runs of every kind in one process — good code, timeouts, out-of-memory,
//! stack overflows, host calls and module imports — each checked for its exact outcome, with
//! the process's resident set size printed at intervals and bounded at the end.
//!
//! Run: `cargo run --release -p sandvm --example mixed_soak -- [RUNS] [MAX_GROWTH_MIB]`
//! (defaults: 20,000 runs, 64 MiB). `scripts/soak.sh` runs the 1,000,000-run soak. Exits 1 when
//! a run ends otherwise than expected or when RSS grew by more than the bound between the end of
//! the warm-up (the first tenth of the runs) and the end.
use std::time::{Duration, Instant};

use sandvm::{Context, ContextOptions, HostModule, Limits, ModuleConfig, Runtime};
use serde_json::{json, Value};

/// The kinds of run, in the order they repeat.
/// The deadline of every run that should end by itself (or by a memory or stack limit).
const SLOW_OK: Duration = Duration::from_secs(5);
const KINDS: [&str; 6] = ["good", "timeout", "oom", "stack", "host", "module"];

/// Resident set size of this process in KiB, from `/proc/self/status` (0 where there is none).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Limits for one run. Only the runs that are meant to time out get the 2 ms deadline: on a loaded
/// machine a good run, an out-of-memory run or a deep recursion can take longer than that, and
/// would then end as `timeout` rather than as the outcome being soaked.
fn limits(timeout: Duration) -> Limits {
    Limits {
        timeout: Some(timeout),
        memory: 8 << 20,
        stack: 256 << 10,
        max_output: 64 << 10,
        max_jobs: 10_000,
        ..Default::default()
    }
}

/// One run of `kind` number `i`: `Ok(())` when it ended exactly as expected.
fn run(kind: usize, i: u64, shared: &Context) -> Result<(), String> {
    let value = |r: sandvm::Result<sandvm::Completion>| r.map(|c| c.value.unwrap_or(Value::Null));
    let error_kind = |r: sandvm::Result<sandvm::Completion>| match r {
        Ok(c) => format!("ok {:?}", c.value),
        Err(e) => e.kind().to_string(),
    };
    let fresh_with = |timeout: Duration| -> Result<(Runtime, ContextOptions), String> {
        Ok((Runtime::new(limits(timeout)).map_err(|e| e.to_string())?, ContextOptions::default()))
    };
    let fresh = || fresh_with(SLOW_OK);
    let (got, want) = match KINDS[kind] {
        // The shared context: good runs and host calls reuse one runtime for the whole soak.
        "good" => (
            format!("{:?}", value(shared.eval(&format!("[1, 2, {i}].map((x) => x * 2).reduce((a, b) => a + b)")))),
            format!("{:?}", Ok::<Value, sandvm::Error>(json!(6 + 2 * i))),
        ),
        "host" => (
            format!("{:?}", value(shared.eval(&format!("add({i}, 1)")))),
            format!("{:?}", Ok::<Value, sandvm::Error>(json!(i + 1))),
        ),
        // Limits spend a runtime: each of these gets a fresh one, as the engine facts advise.
        "timeout" => {
            let (rt, o) = fresh_with(Duration::from_millis(2))?;
            let ctx = Context::new(&rt, o).map_err(|e| e.to_string())?;
            (error_kind(ctx.eval("for (;;) {}")), "timeout".to_string())
        }
        "oom" => {
            let (rt, o) = fresh()?;
            let ctx = Context::new(&rt, o).map_err(|e| e.to_string())?;
            (
                error_kind(ctx.eval("const a = []; for (;;) a.push(new Array(1e5).fill(1.5));")),
                "memory_limit".to_string(),
            )
        }
        "stack" => {
            let (rt, o) = fresh()?;
            let ctx = Context::new(&rt, o).map_err(|e| e.to_string())?;
            (error_kind(ctx.eval("function f(n) { return f(n + 1) + 1 } f(0)")), "stack_overflow".to_string())
        }
        _ => {
            let (rt, o) = fresh()?;
            let modules = ModuleConfig::new()
                .module("lib/m.js", &format!("export const n = {i};"))
                .module("lib/c.js", "module.exports = { twice: (x) => 2 * x };")
                .host_module("sandvm:crypto", HostModule::crypto())
                .allow("sandvm:crypto");
            let ctx = Context::new(&rt, o.modules(modules)).map_err(|e| e.to_string())?;
            let got = value(ctx.run_module(
                "import { n } from 'lib/m.js'; import { sha256 } from 'sandvm:crypto';
                 export const r = n + sha256('x').length;",
                "main.mjs",
            ));
            (format!("{got:?}"), format!("{:?}", Ok::<Value, sandvm::Error>(json!({"r": i + 64}))))
        }
    };
    if got == want {
        Ok(())
    } else {
        Err(format!("run {i} ({}): got {got}, want {want}", KINDS[kind]))
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: u64 = args.next().and_then(|a| a.replace('_', "").parse().ok()).unwrap_or(20_000);
    let max_growth_mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let shared_rt = Runtime::new(limits(SLOW_OK)).unwrap_or_else(|e| panic!("runtime: {e}"));
    let shared = Context::new(&shared_rt, ContextOptions::default()).unwrap_or_else(|e| panic!("context: {e}"));
    shared
        .register_fn("add", |(a, b): (f64, f64)| Ok::<f64, String>(a + b))
        .unwrap_or_else(|e| panic!("register_fn: {e}"));

    let start = Instant::now();
    let step = (runs / 20).max(1);
    let warm = (runs / 10).max(1);
    let mut baseline = 0;
    let mut failures = 0u64;
    println!("mixed_soak: {runs} runs of {KINDS:?}, rss at start {} KiB", rss_kib());
    for i in 0..runs {
        if let Err(msg) = run((i % KINDS.len() as u64) as usize, i, &shared) {
            failures += 1;
            if failures <= 10 {
                eprintln!("mixed_soak: {msg}");
            }
        }
        let done = i + 1;
        if done == warm {
            baseline = rss_kib();
        }
        if done % step == 0 || done == runs {
            let _ = shared.take_console();
            println!(
                "mixed_soak: {done:>9} runs  {:>7.1} s  rss {:>7} KiB  failures {failures}",
                start.elapsed().as_secs_f64(),
                rss_kib()
            );
        }
    }
    let end = rss_kib();
    let growth = end.saturating_sub(baseline);
    let rate = runs as f64 / start.elapsed().as_secs_f64();
    println!(
        "mixed_soak: done: {runs} runs in {:.1} s ({rate:.0} runs/s), {failures} failures, rss {baseline} KiB after \
         warm-up -> {end} KiB at the end (growth {growth} KiB, bound {} KiB)",
        start.elapsed().as_secs_f64(),
        max_growth_mib * 1024
    );
    if failures > 0 || growth > max_growth_mib * 1024 {
        std::process::exit(1);
    }
}
