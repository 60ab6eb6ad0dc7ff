//! `sandvm bench`: in-process workloads, ns/op as the median of several batches, with raw
//! rquickjs baselines for the library's own overhead.

use std::time::{Duration, Instant};

use clap::Args;

use sandvm::{Context, ContextOptions, Limits, Runtime, Script};
use serde::Serialize;

/// Flags of `sandvm bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Print `{"workloads":[...]}` JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Run only workloads whose name contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Target time per workload in milliseconds.
    #[arg(long, default_value_t = 600)]
    pub budget_ms: u64,
}

/// One workload's figures.
#[derive(Debug, Serialize)]
pub struct Workload {
    /// Workload name.
    pub name: String,
    /// Operations measured in total.
    pub iterations: u64,
    /// Median nanoseconds per operation over the batches.
    pub ns_per_op: f64,
    /// Extra figures (bytes per context, ratios).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct Out {
    workloads: Vec<Workload>,
}

/// Measures `f` (one operation per call): calibrates a batch size to ~1/10 of the budget, then
/// runs batches until the budget is spent, and reports the median ns/op.
fn measure(budget: Duration, mut f: impl FnMut()) -> (u64, f64) {
    let mut batch = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        if t.elapsed() >= budget / 20 || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    let mut total = 0;
    while samples.len() < 5 || (start.elapsed() < budget && samples.len() < 50) {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        samples.push(t.elapsed().as_nanos() as f64 / batch as f64);
        total += batch;
    }
    samples.sort_by(f64::total_cmp);
    (total, samples[samples.len() / 2])
}

/// Measures two variants of one operation with alternating batches (so that load changes on a
/// shared machine hit both alike) and returns `(iterations of b, median ns/op of a, of b)`.
fn measure_pair(budget: Duration, mut a: impl FnMut(), mut b: impl FnMut()) -> (u64, f64, f64) {
    let mut batch = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            a();
            b();
        }
        if t.elapsed() >= budget / 20 || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let mut total = 0;
    while sa.len() < 5 || (start.elapsed() < budget && sa.len() < 50) {
        let t = Instant::now();
        for _ in 0..batch {
            a();
        }
        sa.push(t.elapsed().as_nanos() as f64 / batch as f64);
        let t = Instant::now();
        for _ in 0..batch {
            b();
        }
        sb.push(t.elapsed().as_nanos() as f64 / batch as f64);
        total += batch;
    }
    sa.sort_by(f64::total_cmp);
    sb.sort_by(f64::total_cmp);
    (total, sa[sa.len() / 2], sb[sb.len() / 2])
}

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

type Bench = (&'static str, fn(Duration) -> anyhow::Result<Workload>);

fn workload(name: &str, (iterations, ns): (u64, f64)) -> Workload {
    Workload { name: name.into(), iterations, ns_per_op: ns, extra: Default::default() }
}

fn limits() -> Limits {
    Limits { timeout: None, ..Default::default() }
}

/// The source of `eval_small` and `timeout_overhead`, the same on every side (bench/peers.js).
const EVAL_SRC: &str = "[1,2,3].map(v=>v*2).reduce((a,b)=>a+b)";
/// The script of `script_run_cached`, the same on every side (bench/peers.js).
const SCRIPT_SRC: &str = "globalThis.x = (globalThis.x|0)+1";

fn context_create(b: Duration) -> anyhow::Result<Workload> {
    let rt = Runtime::new(limits())?;
    Ok(workload(
        "context_create",
        measure(b, || {
            let ctx = Context::new(&rt, ContextOptions::default()).expect("context");
            ctx.eval("1+1").expect("eval");
        }),
    ))
}

fn context_create_frozen(b: Duration) -> anyhow::Result<Workload> {
    let rt = Runtime::new(limits())?;
    let opts = ContextOptions::default().freeze_intrinsics(true);
    Ok(workload(
        "context_create_frozen",
        measure(b, || {
            let ctx = Context::new(&rt, opts.clone()).expect("context");
            ctx.eval("1+1").expect("eval");
        }),
    ))
}

fn raw_context_create(b: Duration) -> anyhow::Result<Workload> {
    let rt = rquickjs::Runtime::new()?;
    rt.set_memory_limit(64 << 20);
    rt.set_max_stack_size(256 << 10);
    Ok(workload(
        "raw_context_create",
        measure(b, || {
            let ctx = rquickjs::Context::full(&rt).expect("context");
            ctx.with(|ctx| ctx.eval::<i32, _>("1+1").expect("eval"));
        }),
    ))
}

fn eval_small(b: Duration) -> anyhow::Result<Workload> {
    let rt = Runtime::new(limits())?;
    let ctx = Context::new(&rt, ContextOptions::default())?;
    Ok(workload("eval_small", measure(b, || drop(ctx.eval(EVAL_SRC).expect("eval")))))
}

fn raw_eval_small(b: Duration) -> anyhow::Result<Workload> {
    let rt = rquickjs::Runtime::new()?;
    let ctx = rquickjs::Context::full(&rt)?;
    Ok(workload(
        "raw_eval_small",
        measure(b, || {
            ctx.with(|ctx| {
                let _: i32 = ctx.eval(EVAL_SRC).expect("eval");
            })
        }),
    ))
}

/// The cost of a timeout: `ns_per_op` is the run with a timeout minus the same run without
/// (the `eval_small` source), `extra.overhead_pct` the percentage.
fn timeout_overhead(b: Duration) -> anyhow::Result<Workload> {
    let src = EVAL_SRC;
    let without = Context::new(&Runtime::new(limits())?, ContextOptions::default())?;
    let with = Context::new(
        &Runtime::new(Limits { timeout: Some(Duration::from_secs(10)), cpu_time: None, ..Default::default() })?,
        ContextOptions::default(),
    )?;
    let (n, base, timed) =
        measure_pair(b, || drop(without.eval(src).expect("eval")), || drop(with.eval(src).expect("eval")));
    let mut w = workload("timeout_overhead", (n, timed - base));
    w.extra.insert("without_timeout_ns".into(), base.into());
    w.extra.insert("with_timeout_ns".into(), timed.into());
    w.extra.insert("overhead_pct".into(), ((timed / base - 1.0) * 100.0).into());
    Ok(w)
}

fn script_run_cached(b: Duration) -> anyhow::Result<Workload> {
    let rt = Runtime::new(limits())?;
    let ctx = Context::new(&rt, ContextOptions::default())?;
    let script = Script::new(SCRIPT_SRC, "bench.js")?;
    Ok(workload("script_run_cached", measure(b, || drop(ctx.run(&script).expect("run")))))
}

/// The raw engine doing what `script_run_cached` does: the script compiled once (as the body
/// of a function, rquickjs' safe API has no compile-only script), run each time, the
/// completion value read as a number.
fn raw_script_run_cached(b: Duration) -> anyhow::Result<Workload> {
    let rt = rquickjs::Runtime::new()?;
    let ctx = rquickjs::Context::full(&rt)?;
    let func = ctx.with(|ctx| -> rquickjs::Result<rquickjs::Persistent<rquickjs::Function<'static>>> {
        let f: rquickjs::Function = ctx.eval(format!("(function() {{ return {SCRIPT_SRC} }})"))?;
        Ok(rquickjs::Persistent::save(&ctx, f))
    })?;
    Ok(workload(
        "raw_script_run_cached",
        measure(b, || {
            ctx.with(|ctx| {
                let f = func.clone().restore(&ctx).expect("restore");
                let _: f64 = f.call(()).expect("run");
            })
        }),
    ))
}

fn fib27(b: Duration) -> anyhow::Result<Workload> {
    let rt = Runtime::new(limits())?;
    let ctx = Context::new(&rt, ContextOptions::default())?;
    ctx.eval("function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }")?;
    Ok(workload("fib27", measure(b, || drop(ctx.eval("fib(27)").expect("fib")))))
}

fn json_roundtrip_10kb(b: Duration) -> anyhow::Result<Workload> {
    let rt = Runtime::new(limits())?;
    let ctx = Context::new(&rt, ContextOptions::default())?;
    let items: Vec<_> = (0..100)
        .map(|i| serde_json::json!({"id": i, "name": format!("item-{i}"), "price": i as f64 * 1.5, "tags": ["a", "b"]}))
        .collect();
    let data = serde_json::json!({ "items": items });
    let size = data.to_string().len();
    let mut w = workload(
        "json_roundtrip_10kb",
        measure(b, || {
            ctx.set_global("data", &data).expect("global");
            drop(ctx.eval("JSON.stringify(data)").expect("eval"));
        }),
    );
    w.extra.insert("json_bytes".into(), size.into());
    Ok(w)
}

fn memory_per_context(_b: Duration) -> anyhow::Result<Workload> {
    const N: usize = 1000;
    let rt = Runtime::new(Limits { memory: 1 << 30, timeout: None, ..Default::default() })?;
    let heap0 = rt.heap_used();
    let rss0 = rss_bytes().unwrap_or(0);
    let t = Instant::now();
    let mut keep = Vec::with_capacity(N);
    for _ in 0..N {
        let ctx = Context::new(&rt, ContextOptions::default())?;
        ctx.eval("1+1")?;
        keep.push(ctx);
    }
    let elapsed = t.elapsed();
    let heap = (rt.heap_used() - heap0) / N;
    let rss = rss_bytes().unwrap_or(0).saturating_sub(rss0) / N as u64;
    let mut w = workload("memory_per_context", (N as u64, elapsed.as_nanos() as f64 / N as f64));
    w.extra.insert("engine_heap_bytes_per_context".into(), heap.into());
    w.extra.insert("bytes_per_context".into(), rss.into());
    w.extra.insert("rss_bytes_per_context".into(), rss.into());
    drop(keep);
    Ok(w)
}

fn pooled_context(b: Duration) -> anyhow::Result<Workload> {
    use sandvm_pool::{Job, Pool, PoolConfig, TenantConfig};
    // One thread worker with pre-warmed contexts: a job takes a fresh context from the warm set
    // (never reused), so this is the cost of starting an isolated job, hand-off included.
    let pool = Pool::new(PoolConfig { workers: 1, ..Default::default() })?;
    pool.add_tenant("bench", TenantConfig::default());
    let job = || Job::source("1+1").with_limits(limits());
    let mut in_worker_ms = Vec::new();
    for _ in 0..100 {
        let out = pool.execute_blocking("bench", job())?;
        anyhow::ensure!(out.is_ok(), "pooled job failed: {:?}", out.error_kind());
    }
    let mut w = workload(
        "pooled_context",
        measure(b, || {
            let out = pool.execute_blocking("bench", job()).expect("pool");
            in_worker_ms.push(out.stats.wall_ms);
        }),
    );
    in_worker_ms.sort_by(f64::total_cmp);
    if let Some(mid) = in_worker_ms.get(in_worker_ms.len() / 2) {
        w.extra.insert("in_worker_run_ns".into(), (mid * 1e6).into());
    }
    pool.shutdown_blocking();
    Ok(w)
}

/// Submit-to-result latency of a tiny job on a warm pool that is not saturated (one job at a
/// time, a pause between jobs in which the worker prepares the next fresh context): `ns_per_op`
/// is the median, `extra` has p50/p99 and, beside it, the throughput of tiny jobs when the pool
/// is saturated (jobs queued back to back), per worker.
fn pooled_start_latency(b: Duration) -> anyhow::Result<Workload> {
    use sandvm_pool::{Job, Pool, PoolConfig, TenantConfig};
    let pool = Pool::new(PoolConfig { workers: 1, ..Default::default() })?;
    pool.add_tenant("bench", TenantConfig { max_queued: 100_000, ..Default::default() });
    let job = || Job::source("1+1").with_limits(limits());
    for _ in 0..100 {
        let out = pool.execute_blocking("bench", job())?;
        anyhow::ensure!(out.is_ok(), "pooled job failed: {:?}", out.error_kind());
    }
    let mut lat = Vec::new();
    let start = Instant::now();
    while lat.len() < 200 || (start.elapsed() < b && lat.len() < 5000) {
        // Idle time between requests, as on a pool that is not saturated.
        std::thread::sleep(Duration::from_micros(500));
        let t = Instant::now();
        let out = pool.execute_blocking("bench", job())?;
        lat.push(t.elapsed().as_nanos() as f64);
        anyhow::ensure!(out.is_ok(), "pooled job failed: {:?}", out.error_kind());
    }
    lat.sort_by(f64::total_cmp);
    let pick = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
    let (p50, p99) = (pick(0.5), pick(0.99));
    // Saturated: a backlog of jobs, all submitted at once.
    const BACKLOG: usize = 2000;
    let t = Instant::now();
    let handles: Vec<_> = (0..BACKLOG).map(|_| pool.submit("bench", job())).collect::<Result<_, _>>()?;
    for h in handles {
        let out = h.wait()?;
        anyhow::ensure!(out.is_ok(), "pooled job failed: {:?}", out.error_kind());
    }
    let per_sec = BACKLOG as f64 / t.elapsed().as_secs_f64();
    pool.shutdown_blocking();
    let mut w = workload("pooled_start_latency", (lat.len() as u64, p50));
    w.extra.insert("p50_ns".into(), p50.into());
    w.extra.insert("p99_ns".into(), p99.into());
    w.extra.insert("saturated_jobs_per_sec_per_worker".into(), per_sec.into());
    Ok(w)
}

fn template_render(b: Duration) -> anyhow::Result<Workload> {
    // ~2 KB, 50 fields, `#if` blocks, HTML escaping; compiled once, rendered in a warm sandbox.
    let mut source = String::from("<section class=\"profile\">\n");
    let mut data = serde_json::Map::new();
    for i in 0..50 {
        source.push_str(&format!("<p>Field {i}: {{{{#if f{i}}}}}<b>{{{{f{i}}}}}</b>{{{{/if}}}}</p>\n"));
        data.insert(format!("f{i}"), serde_json::json!(format!("value <{i}> & more")));
    }
    source.push_str("</section>\n");
    let data = serde_json::Value::Object(data);
    let mut t = sandvm_template::Templates::new(limits())?;
    t.register_template("bench", &source)?;
    let bytes = t.render("bench", &data)?.len();
    let mut w = workload("template_render", measure(b, || drop(t.render("bench", &data).expect("render"))));
    w.extra.insert("template_bytes".into(), source.len().into());
    w.extra.insert("output_bytes".into(), bytes.into());
    Ok(w)
}

/// A ~300 KB ES module: many small exported functions.
fn big_module() -> String {
    let mut src = String::with_capacity(310_000);
    let mut i = 0;
    while src.len() < 300 * 1024 {
        src.push_str(&format!(
            "export function f{i}(a, b) {{ const x = [a, b, {i}].map((v) => v * 2); return x.reduce((s, v) => s + v, 0) + '{i}'.length; }}\n"
        ));
        i += 1;
    }
    src
}

/// Imports the big module in a fresh context (the context's own module table is empty).
fn import_big(rt: &Runtime, cfg: &sandvm::ModuleConfig) {
    let ctx = Context::new(rt, ContextOptions::default().modules(cfg.clone())).expect("context");
    ctx.run_module("import 'big.js';", "main.mjs").expect("import");
}

fn module_import_300kb(b: Duration) -> anyhow::Result<Workload> {
    let src = big_module();
    let rt = Runtime::new(Limits { memory: 512 << 20, timeout: None, ..Default::default() })?;
    let plain = sandvm::ModuleConfig::new().module("big.js", &src);
    let (_, first) = measure(b / 2, || import_big(&rt, &plain));
    let cache = sandvm::BytecodeCache::in_memory();
    let cached_cfg = plain.clone().cache(cache);
    import_big(&rt, &cached_cfg);
    let (n, cached) = measure(b / 2, || import_big(&rt, &cached_cfg));
    let mut w = workload("module_import_300kb_cached", (n, cached));
    w.extra.insert("module_bytes".into(), src.len().into());
    w.extra.insert("first_import_ns".into(), first.into());
    w.extra.insert("speedup".into(), (first / cached).into());
    Ok(w)
}

const BENCHES: &[Bench] = &[
    ("context_create", context_create),
    ("context_create_frozen", context_create_frozen),
    ("raw_context_create", raw_context_create),
    ("pooled_context", pooled_context),
    ("pooled_start_latency", pooled_start_latency),
    ("eval_small", eval_small),
    ("raw_eval_small", raw_eval_small),
    ("script_run_cached", script_run_cached),
    ("raw_script_run_cached", raw_script_run_cached),
    ("timeout_overhead", timeout_overhead),
    ("fib27", fib27),
    ("json_roundtrip_10kb", json_roundtrip_10kb),
    ("template_render", template_render),
    ("memory_per_context", memory_per_context),
    ("module_import_300kb_cached", module_import_300kb),
];

/// Prints a line, ignoring a closed pipe (`sandvm bench | head`).
fn say(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Runs the benchmarks and prints them. Returns the exit code.
pub fn run(args: &BenchArgs) -> anyhow::Result<u8> {
    let budget = Duration::from_millis(args.budget_ms.max(10));
    let mut out = Vec::new();
    for (name, f) in BENCHES {
        if args.filter.as_deref().is_some_and(|flt| !name.contains(flt)) {
            continue;
        }
        let w = f(budget)?;
        if !args.json {
            let extra =
                if w.extra.is_empty() { String::new() } else { serde_json::Value::Object(w.extra.clone()).to_string() };
            say(format!("{:24} {:>14.0} ns/op  {:>10} iters  {}", w.name, w.ns_per_op, w.iterations, extra));
        }
        out.push(w);
    }
    // Ratios against the raw engine, when both sides ran.
    let ratios = [
        ("context_create", "raw_context_create"),
        ("eval_small", "raw_eval_small"),
        ("script_run_cached", "raw_script_run_cached"),
        ("context_create_frozen", "context_create"),
    ];
    for (ours, raw) in ratios {
        let find = |n: &str| out.iter().find(|w| w.name == n).map(|w| w.ns_per_op);
        if let (Some(a), Some(b)) = (find(ours), find(raw)) {
            if let Some(w) = out.iter_mut().find(|w| w.name == ours) {
                if raw.starts_with("raw_") {
                    w.extra.insert("overhead_vs_raw_pct".into(), ((a / b - 1.0) * 100.0).into());
                }
                w.extra.insert(format!("ratio_vs_{raw}"), (a / b).into());
            }
            if !args.json {
                say(format!("{ours} vs {raw}: {:.2}x", a / b));
            }
        }
    }
    if args.json {
        say(serde_json::to_string(&Out { workloads: out })?);
    }
    Ok(0)
}
