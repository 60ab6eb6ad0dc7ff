//! Thread-mode pool tests.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use sandvm_pool::{
    CpuBudget, Fault, Job, JobOptions, Limits, Pool, PoolConfig, PoolError, RateQuota, ScriptId, ScriptOptions,
    TenantConfig,
};
use serde_json::json;

fn pool(workers: usize) -> Pool {
    Pool::new(PoolConfig {
        workers,
        test_hooks: true,
        hard_deadline_margin: ms(200),
        default_tenant: Some(TenantConfig::default()),
        ..Default::default()
    })
    .expect("pool")
}

#[test]
fn runs_jobs_and_reports() {
    let p = pool(2);
    let r =
        p.execute_blocking("a", Job::source("console.log('hi'); [1, 2].map(x => x * n)").with_globals(json!({"n": 3})));
    let o = r.expect("ok");
    assert_eq!(o.report.value, json!([3, 6]));
    assert_eq!(o.report.console[0].text, "hi");
    assert_eq!(o.tenant, "a");
    let err = p.execute_blocking("a", Job::source("throw new TypeError('boom')")).expect("outcome");
    assert_eq!(err.error_kind(), Some("exception"));
    assert_eq!(err.report.error.as_ref().and_then(|e| e.name.as_deref()), Some("TypeError"));
    let json = serde_json::to_value(&err).expect("serialisable");
    assert_eq!(json["report"]["status"], "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_api() {
    let p = pool(2);
    let mut hs = Vec::new();
    for i in 0..20 {
        hs.push(p.submit("a", Job::source(format!("{i} * 2"))).expect("submit"));
    }
    for (i, h) in hs.into_iter().enumerate() {
        assert_eq!(h.result().await.expect("ok").report.value, json!(i * 2));
    }
    assert_eq!(p.execute("a", Job::source("'x'")).await.expect("ok").report.value, json!("x"));
}

#[test]
fn tenants_are_isolated_and_contexts_fresh() {
    let p = pool(2);
    for _ in 0..4 {
        let r = p.execute_blocking("a", Job::source("Object.prototype.polluted = 1; globalThis.leak = 'a'; 1"));
        assert!(r.expect("ok").is_ok());
    }
    for t in ["a", "b"] {
        for _ in 0..4 {
            let r = p.execute_blocking(t, Job::source("[typeof leak, ({}).polluted === undefined]"));
            assert_eq!(value(&r), json!(["undefined", true]), "tenant {t} saw another job's state");
        }
    }
    // A persistent context keeps its state, only for its tenant and name.
    p.execute_blocking(
        "a",
        Job::source("var count = 0; function inc(by) { count += by; return count; }").in_context("plugin"),
    )
    .expect("load");
    assert_eq!(value(&p.execute_blocking("a", Job::call("plugin", "inc", vec![json!(2)]))), json!(2));
    assert_eq!(value(&p.execute_blocking("a", Job::call("plugin", "inc", vec![json!(3)]))), json!(5));
    let other = p.execute_blocking("b", Job::call("plugin", "inc", vec![json!(1)])).expect("outcome");
    assert_eq!(other.error_kind(), Some("host"), "tenant b reached tenant a's plugin: {other:?}");
    assert_eq!(value(&p.execute_blocking("a", Job::source("typeof count"))), json!("undefined"));
    // Context flavours.
    let strict = p.execute_blocking(
        "a",
        Job::source("undeclared = 1").with_options(JobOptions { strict: true, ..Default::default() }),
    );
    assert_eq!(strict.expect("outcome").error_kind(), Some("exception"));
    let det = JobOptions { deterministic: Some(7), ..Default::default() };
    let a = value(&p.execute_blocking("a", Job::source("Math.random()").with_options(det.clone())));
    let b = value(&p.execute_blocking("b", Job::source("Math.random()").with_options(det)));
    assert_eq!(a, b);
}

#[test]
fn registered_scripts_are_per_tenant() {
    let p = pool(2);
    let id = p.register_script("a", "(typeof n === 'number' ? n : 0) + 1", ScriptOptions::default()).expect("compiles");
    for _ in 0..3 {
        assert_eq!(value(&p.execute_blocking("a", Job::script(id).with_globals(json!({"n": 41})))), json!(42));
    }
    assert!(matches!(p.submit("b", Job::script(id)), Err(PoolError::UnknownScript { .. })));
    assert!(matches!(p.submit("a", Job::script(ScriptId(999_999))), Err(PoolError::UnknownScript { .. })));
    assert!(matches!(p.register_script("a", "let let = ;", ScriptOptions::default()), Err(PoolError::InvalidJob(_))));
    assert!(p.unregister_script("a", id));
    assert!(matches!(p.submit("a", Job::source("1").with_globals(json!([1]))), Err(PoolError::InvalidJob(_))));
}

#[test]
fn module_jobs_run_and_import_only_what_the_tenant_grants() {
    let p = pool(2);
    // A module's value is its namespace; top-level await works.
    let o = p
        .execute_blocking(
            "a",
            Job::module("export const x = await Promise.resolve(n * 2); console.log('m');")
                .with_globals(json!({"n": 21})),
        )
        .expect("outcome");
    assert_eq!(o.report.value, json!({"x": 42}), "{o:?}");
    assert_eq!(o.report.console[0].text, "m");
    // Nothing can be imported by default.
    let o = p.execute_blocking("a", Job::module("import { x } from 'lib.mjs'; export default x;")).expect("outcome");
    assert!(o.error_kind().is_some_and(|k| k.starts_with("module_not")), "{o:?}");
    let o = p.execute_blocking("a", Job::module("export default 1; let let = ;")).expect("outcome");
    assert_eq!(o.error_kind(), Some("syntax"));
    // A tenant's in-memory modules are importable by its module jobs only.
    p.add_tenant(
        "lib",
        TenantConfig {
            modules: [("lib.mjs".to_string(), "export const x = 7;".to_string())].into(),
            ..Default::default()
        },
    );
    let src = "import { x } from 'lib.mjs'; export const y = x * 6;";
    assert_eq!(value(&p.execute_blocking("lib", Job::module(src))), json!({"y": 42}));
    let o = p.execute_blocking("b", Job::module(src)).expect("outcome");
    assert!(o.error_kind().is_some_and(|k| k.starts_with("module_not")), "{o:?}");
    // A module's state does not leak into later classic jobs.
    p.execute_blocking("a", Job::module("globalThis.leak = 1; export {};")).expect("ok");
    assert_eq!(value(&p.execute_blocking("a", Job::source("typeof leak"))), json!("undefined"));
}

#[test]
fn capabilities_are_granted_per_job_and_validated() {
    let p = pool(1);
    let probe = "[typeof atob, typeof setTimeout, typeof URL, typeof structuredClone]";
    assert_eq!(
        value(&p.execute_blocking("a", Job::source(probe))),
        json!(["undefined", "undefined", "undefined", "undefined"])
    );
    let granted = p.execute_blocking("a", Job::source(probe).with_capabilities(["base64", "url", "base64"]));
    assert_eq!(value(&granted), json!(["function", "undefined", "function", "undefined"]));
    // A warm context of another flavour never carries the packs over.
    assert_eq!(
        value(&p.execute_blocking("a", Job::source(probe))),
        json!(["undefined", "undefined", "undefined", "undefined"])
    );
    let timers = p.execute_blocking(
        "a",
        Job::source("new Promise(r => setTimeout(() => r(btoa('hi')), 5))").with_capabilities(["timers", "base64"]),
    );
    assert_eq!(value(&timers), json!("aGk="));
    let all =
        p.execute_blocking("a", Job::module("export const t = typeof structuredClone;").with_capabilities(["all"]));
    assert_eq!(value(&all), json!({"t": "function"}));
    match p.submit("a", Job::source("1").with_capabilities(["fs"])) {
        Err(PoolError::InvalidJob(m)) => assert!(m.contains("fs"), "{m}"),
        other => panic!("expected InvalidJob, got {other:?}"),
    }
}

#[test]
fn a_looping_tenant_does_not_starve_another() {
    let p = pool(2);
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    let mut hs = Vec::new();
    for i in 0..8 {
        hs.push((
            format!("A{i}"),
            p.submit("flood", Job::source(LOOP).with_limits(timeout_limits(300))).expect("submit"),
        ));
    }
    for i in 0..4 {
        hs.push((format!("B{i}"), p.submit("calm", Job::source(format!("{i}"))).expect("submit")));
    }
    for (name, h) in hs {
        let order = order.clone();
        threads.push(std::thread::spawn(move || {
            let r = h.wait();
            order.lock().unwrap_or_else(|e| e.into_inner()).push((name, kind(&r)));
        }));
    }
    for t in threads {
        t.join().expect("join");
    }
    let order = order.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let pos = |n: &str| order.iter().position(|(x, _)| x == n).expect("present");
    let last_b = (0..4).map(|i| pos(&format!("B{i}"))).max().unwrap_or(0);
    let a_done_before_last_b = order[..last_b].iter().filter(|(n, _)| n.starts_with('A')).count();
    // FIFO would finish all 8 looping jobs first; round-robin lets B in after each A.
    assert!(a_done_before_last_b <= 5, "calm tenant waited behind {a_done_before_last_b} looping jobs: {order:?}");
    assert!(order.iter().all(|(n, k)| if n.starts_with('A') { k == "timeout" } else { k == "ok" }), "{order:?}");
}

#[test]
fn thousand_mixed_jobs_keep_their_results() {
    let p = pool(2);
    let mut hs = Vec::new();
    for i in 0..1000 {
        let (job, expected) = mixed_job(i, false);
        hs.push((i, expected, p.submit(&format!("t{}", i % 3), job).expect("submit")));
    }
    for (i, expected, h) in hs {
        check_mixed(i, expected, &h.wait());
    }
    let s = p.stats();
    assert_eq!(s.outcomes.get("ok").copied(), Some(800));
    assert_eq!(s.outcomes.get("timeout").copied(), Some(100));
    assert_eq!(s.outcomes.get("memory_limit").copied(), Some(100));
    assert!(s.recycled_runtimes >= 200, "{s:?}");
}

#[test]
fn output_limit_on_a_100_mb_string() {
    let p = pool(1);
    let limits = Limits { memory: 256 * 1024 * 1024, timeout: Some(Duration::from_secs(10)), ..Default::default() };
    let r = p.execute_blocking("a", Job::source("'x'.repeat(100 * 1024 * 1024)").with_limits(limits));
    assert_eq!(kind(&r), "output_limit");
    assert_eq!(value(&p.execute_blocking("a", Job::source("'after'"))), json!("after"));
}

#[test]
fn stuck_builtin_thread_is_abandoned_and_replaced() {
    let p = pool(1);
    // A hook that blocks in native code like a long builtin, ignoring interrupts.
    let r = p.execute_blocking("a", Job::fault(Fault::Hang(3_000)).with_limits(timeout_limits(50)));
    assert_eq!(kind(&r), "timeout");
    assert_eq!(value(&p.execute_blocking("a", Job::source("'replacement works'"))), json!("replacement works"));
    let s = p.stats();
    assert_eq!(s.abandoned_threads, 1);
    // A real long builtin that never polls the interrupt.
    let r = p.execute_blocking(
        "a",
        Job::source("Array.prototype.join.call({ length: 3e7 }, '')").with_limits(timeout_limits(20)),
    );
    assert_eq!(kind(&r), "timeout");
    assert_eq!(value(&p.execute_blocking("a", Job::source("1 + 1"))), json!(2));
}

#[test]
fn cancel_queued_and_running_jobs() {
    let p = pool(1);
    let long = Limits { timeout: Some(Duration::from_secs(20)), ..Default::default() };
    let running = p.submit("a", Job::source(LOOP).with_limits(long.clone())).expect("submit");
    let queued = p.submit("a", Job::source("'never'")).expect("submit");
    let dropped = p.submit("a", Job::source("'dropped'")).expect("submit");
    drop(dropped);
    queued.cancel();
    assert!(matches!(queued.wait(), Err(PoolError::Cancelled)));
    // Give the loop time to start, then cancel it.
    sandvm_testkit::wait_until(Duration::from_secs(10), "the job to start", || p.stats().running > 0);
    let t = Instant::now();
    running.cancel();
    assert!(matches!(running.wait(), Err(PoolError::Cancelled)));
    assert!(t.elapsed() < Duration::from_secs(10), "a cancelled job ran on");
    // A stuck job cancelled ends after the margin (its thread is abandoned).
    let stuck = p.submit("a", Job::fault(Fault::Hang(2_000)).with_limits(long)).expect("submit");
    sandvm_testkit::wait_until(Duration::from_secs(10), "the job to start", || p.stats().running > 0);
    stuck.cancel();
    assert!(matches!(stuck.wait(), Err(PoolError::Cancelled)));
    assert_eq!(value(&p.execute_blocking("a", Job::source("'fine'"))), json!("fine"));
    let s = p.stats();
    assert_eq!(s.tenants["a"].outcomes.get("cancelled").copied(), Some(4), "{s:?}");
}

#[test]
fn quotas_fail_at_once() {
    let p = Pool::new(PoolConfig { workers: 1, queue_capacity: 50, ..Default::default() }).expect("pool");
    assert!(matches!(p.submit("nobody", Job::source("1")), Err(PoolError::UnknownTenant(_))));
    p.add_tenant("q", TenantConfig { max_queued: 2, max_concurrency: 1, ..Default::default() });
    let blocker = p.submit("q", Job::source(LOOP).with_limits(timeout_limits(2_000))).expect("submit");
    sandvm_testkit::wait_until(Duration::from_secs(10), "the job to start", || p.stats().running > 0);
    let _a = p.submit("q", Job::source("1")).expect("1st queued");
    let _b = p.submit("q", Job::source("1")).expect("2nd queued");
    match p.submit("q", Job::source("1")) {
        Err(PoolError::QuotaExceeded { reason, .. }) => assert_eq!(reason, "max_queued"),
        other => panic!("expected max_queued, got {other:?}"),
    }
    blocker.cancel();
    p.add_tenant("r", TenantConfig { rate: Some(RateQuota { per_second: 0.01, burst: 3 }), ..Default::default() });
    for _ in 0..3 {
        p.execute_blocking("r", Job::source("1")).expect("within burst");
    }
    match p.submit("r", Job::source("1")) {
        Err(PoolError::QuotaExceeded { reason, retry_after, .. }) => {
            assert_eq!(reason, "rate");
            assert!(retry_after.is_some_and(|d| d > Duration::ZERO));
        }
        other => panic!("expected rate, got {other:?}"),
    }
    p.add_tenant(
        "c",
        TenantConfig {
            cpu_budget: Some(CpuBudget { cpu_ms: 5, window: Duration::from_secs(60) }),
            ..Default::default()
        },
    );
    let burn =
        p.execute_blocking("c", Job::source("let x = 0; for (let i = 0; i < 3e6; i++) x += i; x")).expect("runs");
    assert!(burn.stats.cpu_ms > 5.0, "the burn job used only {} ms", burn.stats.cpu_ms);
    match p.submit("c", Job::source("1")) {
        Err(PoolError::QuotaExceeded { reason, retry_after, .. }) => {
            assert_eq!(reason, "cpu_budget");
            assert!(retry_after.is_some());
        }
        other => panic!("expected cpu_budget, got {other:?}"),
    }
    p.add_tenant("m", TenantConfig { memory_cap: 16 * 1024 * 1024, ..Default::default() });
    let big = Limits { memory: 32 * 1024 * 1024, ..Default::default() };
    match p.submit("m", Job::source("1").with_limits(big)) {
        Err(PoolError::QuotaExceeded { reason, .. }) => assert_eq!(reason, "memory_cap"),
        other => panic!("expected memory_cap, got {other:?}"),
    }
    // Limits are capped by the tenant's maxima.
    p.add_tenant(
        "capped",
        TenantConfig { max_limits: Limits { timeout: Some(ms(30)), ..Default::default() }, ..Default::default() },
    );
    let r = p.execute_blocking("capped", Job::source(LOOP).with_limits(timeout_limits(60_000)));
    assert_eq!(kind(&r), "timeout");
    let s = p.stats();
    assert_eq!(s.tenants["q"].rejected.get("max_queued").copied(), Some(1));
    assert_eq!(s.tenants["r"].rejected.get("rate").copied(), Some(1));
}

#[test]
fn pool_queue_is_bounded() {
    let p = Pool::new(PoolConfig {
        workers: 1,
        queue_capacity: 3,
        default_tenant: Some(TenantConfig::default()),
        ..Default::default()
    })
    .expect("pool");
    let blocker = p.submit("a", Job::source(LOOP).with_limits(timeout_limits(2_000))).expect("submit");
    sandvm_testkit::wait_until(Duration::from_secs(10), "the job to start", || p.stats().running > 0);
    let _q: Vec<_> = (0..3).map(|_| p.submit("b", Job::source("1")).expect("queued")).collect();
    assert!(matches!(p.submit("c", Job::source("1")), Err(PoolError::Busy)));
    blocker.cancel();
}

#[test]
fn runtimes_are_recycled_after_n_jobs() {
    let p = Pool::new(PoolConfig {
        workers: 1,
        recycle_after_jobs: 5,
        default_tenant: Some(TenantConfig::default()),
        ..Default::default()
    })
    .expect("pool");
    for i in 0..12 {
        assert_eq!(value(&p.execute_blocking("a", Job::source(format!("{i}")))), json!(i));
    }
    let s = p.stats();
    // The 5th and 10th jobs retire the runtime.
    assert_eq!(s.tenants["a"].recycled.get("jobs").copied(), Some(2), "{s:?}");
}

#[test]
fn shutdown_finishes_then_refuses() {
    let p = pool(2);
    let hs: Vec<_> = (0..10).map(|i| p.submit("a", Job::source(format!("{i}"))).expect("submit")).collect();
    p.shutdown_blocking();
    for (i, h) in hs.into_iter().enumerate() {
        assert_eq!(value(&h.wait()), json!(i));
    }
    assert!(matches!(p.submit("a", Job::source("1")), Err(PoolError::ShuttingDown)));
    assert!(!p.stats().accepting);
}

#[test]
fn shutdown_cancels_after_grace() {
    let p = Pool::new(PoolConfig {
        workers: 1,
        grace_period: ms(100),
        hard_deadline_margin: ms(100),
        default_tenant: Some(TenantConfig::default()),
        ..Default::default()
    })
    .expect("pool");
    let long = Limits { timeout: Some(Duration::from_secs(30)), ..Default::default() };
    let running = p.submit("a", Job::source(LOOP).with_limits(long.clone())).expect("submit");
    let queued = p.submit("a", Job::source("1")).expect("submit");
    let t = Instant::now();
    p.shutdown_blocking();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(matches!(running.wait(), Err(PoolError::Cancelled)));
    assert!(matches!(queued.wait(), Err(PoolError::ShuttingDown)));
}
