//! criterion benches of the library's hot paths.
//!
//! `cargo bench -p sandvm --bench hot_paths [-- FILTER]`. Under `cargo test --benches` (no
//! `--bench` flag) criterion runs every bench once, as a smoke test.
//!
//! The whole-program workloads compared with node:vm, vm2 and isolated-vm are in
//! `sandvm bench` and `bench/run.sh`; these are the per-call costs behind them.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sandvm::{Context, ContextOptions, InspectOptions, Limits, Runtime, Script};
use serde_json::{json, Value as Json};

fn limits() -> Limits {
    Limits { timeout: Some(Duration::from_secs(10)), ..Default::default() }
}

fn runtime() -> Runtime {
    Runtime::new(limits()).expect("runtime")
}

fn context(rt: &Runtime) -> Context {
    Context::new(rt, ContextOptions::default()).expect("context")
}

/// The 10 KB object of `sandvm bench`'s `json_roundtrip_10kb` (and bench/peers.js).
fn data_10kb() -> Json {
    let items: Vec<_> = (0..100)
        .map(|i| json!({"id": i, "name": format!("item-{i}"), "price": i as f64 * 1.5, "tags": ["a", "b"]}))
        .collect();
    json!({ "items": items })
}

fn context_creation(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("context_new", |b| b.iter(|| black_box(context(&rt))));
    c.bench_function("context_new_frozen", |b| {
        b.iter(|| black_box(Context::new(&rt, ContextOptions::default().freeze_intrinsics(true)).expect("context")))
    });
}

fn warm_eval(c: &mut Criterion) {
    let rt = runtime();
    let ctx = context(&rt);
    c.bench_function("eval_small", |b| b.iter(|| black_box(ctx.eval(black_box("1+1")).expect("eval"))));
}

fn script_run_cached(c: &mut Criterion) {
    let rt = runtime();
    let ctx = context(&rt);
    let script = Script::new("var n = (typeof n === 'number' ? n : 0) + 1; n * 2", "bench.js").expect("script");
    ctx.run(&script).expect("first run loads the bytecode");
    c.bench_function("script_run_cached", |b| b.iter(|| black_box(ctx.run(&script).expect("run"))));
}

fn host_function_call(c: &mut Criterion) {
    const CALLS: u64 = 100;
    let rt = runtime();
    let ctx = context(&rt);
    ctx.register_fn("add", |(a, b): (f64, f64)| Ok::<_, String>(a + b)).expect("register");
    let source = format!("(() => {{ let s = 0; for (let i = 0; i < {CALLS}; i++) s = add(s, i); return s }})()");
    let script = Script::new(&source, "calls.js").expect("script");
    assert_eq!(ctx.run(&script).expect("run").value, Some(json!(4950)));
    let mut g = c.benchmark_group("host_fn");
    g.throughput(Throughput::Elements(CALLS));
    g.bench_function("call_f64_pair", |b| b.iter(|| black_box(ctx.run(&script).expect("run"))));
    g.finish();
}

fn json_global(c: &mut Criterion) {
    let rt = runtime();
    let ctx = context(&rt);
    let data = data_10kb();
    let bytes = data.to_string().len() as u64;
    let read = Script::new("data.items.length", "read.js").expect("script");
    let out = Script::new("JSON.stringify(data)", "out.js").expect("script");
    let whole = Script::new("data", "whole.js").expect("script");
    let mut g = c.benchmark_group("json_10kb");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("set_global", |b| {
        b.iter(|| {
            ctx.set_global("data", black_box(&data)).expect("global");
            black_box(ctx.run(&read).expect("run"))
        })
    });
    ctx.set_global("data", &data).expect("global");
    g.bench_function("stringify_out", |b| b.iter(|| black_box(ctx.run(&out).expect("run"))));
    g.bench_function("completion_value_out", |b| b.iter(|| black_box(ctx.run(&whole).expect("run"))));
    g.finish();
}

fn inspect_nested(c: &mut Criterion) {
    let rt = runtime();
    let ctx = context(&rt);
    ctx.eval(
        "var nested = { id: 1, name: 'root', when: new Date(0), re: /a+b/gi, \
           tags: new Set(['x', 'y']), index: new Map([['a', { deep: [1, 2, { deeper: [3, 4] }] }]]), \
           list: Array.from({ length: 20 }, (_, i) => ({ i, sq: i * i, s: 'item ' + i })), \
           fn() {}, sym: Symbol('s'), big: 10n }; nested.self = nested; undefined",
    )
    .expect("setup");
    let opts = InspectOptions::default();
    let render = || {
        ctx.with_engine(|ctx| {
            let v: sandvm::rquickjs::Value = ctx.globals().get("nested").expect("global");
            sandvm::inspect_value(ctx, &v, &opts)
        })
        .expect("engine")
    };
    assert!(render().starts_with("<ref *1> {"), "{}", render());
    c.bench_function("inspect_nested", |b| b.iter(|| black_box(render())));
}

criterion_group! {
    name = hot_paths;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = context_creation, warm_eval, script_run_cached, host_function_call, json_global, inspect_nested
}
criterion_main!(hot_paths);
