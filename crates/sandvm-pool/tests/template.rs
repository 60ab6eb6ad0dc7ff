//! Template render jobs: they run on the workers like any job, so quotas, the CPU budget,
//! the isolation mode and the watchdog apply to them.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use sandvm_pool::{
    CpuBudget, Isolation, Job, Limits, Pool, PoolConfig, PoolError, RateQuota, TemplateJob, TenantConfig,
};
use serde_json::json;

fn thread_pool(workers: usize) -> Pool {
    Pool::new(PoolConfig {
        workers,
        hard_deadline_margin: ms(200),
        default_tenant: Some(TenantConfig::default()),
        ..Default::default()
    })
    .expect("pool")
}

fn full_render() -> TemplateJob {
    TemplateJob {
        template: "<ul>{{#each people}}{{> item}}{{/each}}</ul>".into(),
        partials: BTreeMap::from([("item".to_string(), "<li>{{upper name}}</li>".to_string())]),
        helpers: BTreeMap::from([(
            "upper".to_string(),
            "function (s) { return String(s).toUpperCase(); }".to_string(),
        )]),
        data: json!({"people": [{"name": "ada"}, {"name": "<bob>"}]}),
        ..Default::default()
    }
}

const FULL_OUTPUT: &str = "<ul><li>ADA</li><li>&lt;BOB&gt;</li></ul>";

#[test]
fn renders_with_partials_helpers_and_data() {
    let p = thread_pool(1);
    let out = p.execute_blocking("a", Job::template(full_render())).expect("render");
    assert_eq!(out.report.status, "ok");
    assert_eq!(out.report.value, json!(FULL_OUTPUT));
    assert_eq!(p.stats().tenants["a"].outcomes.get("ok").copied(), Some(1));
    // No data at all renders against `{}`.
    let out = p.execute_blocking("a", Job::template(TemplateJob::new("[{{x}}]", json!(null)))).expect("render");
    assert_eq!(out.report.value, json!("[]"));
}

#[test]
fn template_errors_have_kinds_and_positions() {
    let p = thread_pool(1);
    let out = p.execute_blocking("a", Job::template(TemplateJob::new("ok\n  {{#if x}}", json!({})))).expect("run");
    let e = out.report.error.expect("a parse error");
    assert_eq!(e.kind, "parse");
    assert_eq!(e.line, Some(2));
    let out = p.execute_blocking("a", Job::template(TemplateJob::new("{{nope 1}}", json!({})))).expect("run");
    assert_eq!(out.error_kind(), Some("unknown_helper"));
    let mut bad = TemplateJob::new("{{h}}", json!({}));
    bad.helpers.insert("h".into(), "42".into());
    assert_eq!(p.execute_blocking("a", Job::template(bad)).expect("run").error_kind(), Some("invalid_helper"));
    let mut throws = TemplateJob::new("{{h}}", json!({}));
    throws.helpers.insert("h".into(), "function () { throw new Error('boom'); }".into());
    let out = p.execute_blocking("a", Job::template(throws)).expect("run");
    assert_eq!(out.error_kind(), Some("template"));
    assert!(out.report.error.expect("error").message.contains("boom"));
}

/// A helper stuck in one long builtin that never polls the interrupt.
fn stuck_render(timeout_ms: u64) -> Job {
    let mut t = TemplateJob::new("{{spin}}", json!({}));
    t.helpers.insert("spin".into(), "function () { return Array.prototype.join.call({ length: 3e7 }, ''); }".into());
    Job::template(t).with_limits(timeout_limits(timeout_ms))
}

#[test]
fn a_stuck_render_ends_as_timeout_and_counts_against_its_tenant() {
    let p = thread_pool(1);
    let t0 = Instant::now();
    let r = p.execute_blocking("slow", stuck_render(30));
    assert_eq!(kind(&r), "timeout");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    // The worker was replaced: another tenant is served at once.
    let out = p.execute_blocking("other", Job::template(full_render())).expect("render");
    assert_eq!(out.report.value, json!(FULL_OUTPUT));
    let s = p.stats();
    assert_eq!(s.abandoned_threads, 1);
    let slow = &s.tenants["slow"];
    assert_eq!(slow.outcomes.get("timeout").copied(), Some(1));
    assert!(slow.cpu_ms_total >= 30.0, "a stuck render is charged its wall time: {slow:?}");
}

#[test]
fn renders_obey_the_rate_quota_and_the_cpu_budget() {
    let p = thread_pool(1);
    p.add_tenant("rated", TenantConfig { rate: Some(RateQuota { per_second: 0.001, burst: 1 }), ..Default::default() });
    assert!(p.execute_blocking("rated", Job::template(full_render())).is_ok());
    match p.submit("rated", Job::template(full_render())) {
        Err(PoolError::QuotaExceeded { reason, .. }) => assert_eq!(reason, "rate"),
        other => panic!("expected the rate quota, got {other:?}"),
    }
    p.add_tenant(
        "budget",
        TenantConfig {
            cpu_budget: Some(CpuBudget { cpu_ms: 20, window: Duration::from_secs(3600) }),
            ..Default::default()
        },
    );
    let mut busy = TemplateJob::new("{{spin}}", json!({}));
    busy.helpers.insert(
        "spin".into(),
        "function () { const t = Date.now(); while (Date.now() - t < 60) {} return 'done'; }".into(),
    );
    let out = p.execute_blocking("budget", Job::template(busy.clone())).expect("render");
    assert_eq!(out.report.value, json!("done"));
    assert!(out.stats.cpu_ms >= 60.0, "{:?}", out.stats);
    match p.submit("budget", Job::template(busy)) {
        Err(PoolError::QuotaExceeded { reason, .. }) => assert_eq!(reason, "cpu_budget"),
        other => panic!("expected the CPU budget, got {other:?}"),
    }
}

#[test]
fn a_render_can_be_cancelled() {
    let p = thread_pool(1);
    let mut t = TemplateJob::new("{{spin}}", json!({}));
    t.helpers.insert("spin".into(), "function () { for (;;) {} }".into());
    let h = p.submit("a", Job::template(t).with_limits(timeout_limits(20_000))).expect("submit");
    let c = h.canceller();
    let waiter = std::thread::spawn(move || h.wait());
    // Cancel once the render is running (bounded poll).
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.stats().running == 0 {
        assert!(Instant::now() < deadline, "the render never started");
        std::thread::yield_now();
    }
    c.cancel();
    let r = waiter.join().expect("thread");
    assert!(matches!(r, Err(PoolError::Cancelled)), "{r:?}");
    assert_eq!(p.stats().abandoned_threads, 0, "the interrupt ended it, no thread was abandoned");
}

#[cfg(target_os = "linux")]
#[test]
fn renders_in_worker_processes() {
    let p = Pool::new(PoolConfig {
        workers: 1,
        isolation: Isolation::Process,
        worker_binary: Some(env!("CARGO_BIN_EXE_sandvm-pool-worker").into()),
        worker_args: Vec::new(),
        process_address_space: 2 * 1024 * 1024 * 1024,
        hard_deadline_margin: ms(200),
        default_tenant: Some(TenantConfig::default()),
        ..Default::default()
    })
    .expect("pool");
    let out = p.execute_blocking("a", Job::template(full_render())).expect("render");
    assert_eq!(out.report.value, json!(FULL_OUTPUT));
    let r = p.execute_blocking("a", stuck_render(30));
    assert_eq!(kind(&r), "timeout");
    assert_eq!(p.stats().killed_workers, 1);
    let limits = Limits { timeout: Some(Duration::from_secs(5)), ..Default::default() };
    let out = p.execute_blocking("a", Job::template(full_render()).with_limits(limits)).expect("render");
    assert_eq!(out.report.value, json!(FULL_OUTPUT));
    // The handlebars.js options cross the process boundary.
    let mut job = TemplateJob::new("{{#with a}}{{b}}{{/with}} {{@site}} {{up \"x\"}}", json!({"a": {}, "b": "B"}));
    job.options.compat = true;
    job.runtime.data = Some(json!({"site": "S"}));
    job.runtime.helpers.insert("up".into(), "function (s) { return s.toUpperCase(); }".into());
    let out = p.execute_blocking("a", Job::template(job)).expect("render");
    assert_eq!(out.report.value, json!("B S X"));
}

#[test]
fn handlebars_options_apply() {
    let p = thread_pool(1);
    let mut job = TemplateJob::new("{{foo 1}}", json!({}));
    job.options.known_helpers_only = true;
    let out = p.execute_blocking("a", Job::template(job)).expect("run");
    assert_eq!(out.error_kind(), Some("parse"));
    let mut job = TemplateJob::new("{{#with a}}{{b}}{{/with}}", json!({"a": {}, "b": "B"}));
    job.options.compat = true;
    let out = p.execute_blocking("a", Job::template(job)).expect("render");
    assert_eq!(out.report.value, json!("B"));
}
