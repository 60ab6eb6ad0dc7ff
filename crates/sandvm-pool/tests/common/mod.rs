#![allow(dead_code)]

use std::time::Duration;

use sandvm_pool::{Limits, Outcome, PoolError};

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn timeout_limits(t: u64) -> Limits {
    Limits { timeout: Some(ms(t)), ..Default::default() }
}

pub fn value(r: &Result<Outcome, PoolError>) -> serde_json::Value {
    match r {
        Ok(o) => o.report.value.clone(),
        Err(e) => panic!("job failed: {e}"),
    }
}

pub fn kind(r: &Result<Outcome, PoolError>) -> String {
    match r {
        Ok(o) => o.error_kind().unwrap_or("ok").to_string(),
        Err(e) => format!("pool:{}", e.kind()),
    }
}

/// Source that fills memory until the limit.
pub const OOM: &str = "let a = []; for (;;) a.push(new Array(100000).fill(1.5));";
/// Source that loops forever.
pub const LOOP: &str = "for (;;) {}";

/// The mixed workload: job `i` is OOM, timeout, crash (when `crash`) or a tagged value.
/// Only the looping jobs have a short timeout: the others must not depend on timing.
pub fn mixed_job(i: usize, crash: bool) -> (sandvm_pool::Job, &'static str) {
    let limits = Limits { timeout: Some(ms(5_000)), memory: 8 * 1024 * 1024, ..Default::default() };
    let job = match i % 20 {
        0 | 1 => (sandvm_pool::Job::source(OOM), "memory_limit"),
        2 | 3 => {
            (sandvm_pool::Job::source(LOOP).with_limits(Limits { timeout: Some(ms(30)), ..limits.clone() }), "timeout")
        }
        4 if crash => (sandvm_pool::Job::fault(sandvm_pool::Fault::Abort), "pool:worker_crashed"),
        _ => (
            sandvm_pool::Job::source(format!("const tag = {i}; ({{ tag, sq: tag * tag, who: who }})"))
                .with_globals(serde_json::json!({ "who": format!("job-{i}") })),
            "ok",
        ),
    };
    let (job, expected) = job;
    let job = if job.limits.is_some() { job } else { job.with_limits(limits) };
    (job, expected)
}

pub fn check_mixed(i: usize, expected: &str, r: &Result<Outcome, PoolError>) {
    assert_eq!(kind(r), expected, "job {i}: {r:?}");
    if expected == "ok" {
        let v = value(r);
        assert_eq!(v["tag"], serde_json::json!(i), "job {i} got another job's value: {v}");
        assert_eq!(v["sq"], serde_json::json!(i * i));
        assert_eq!(v["who"], serde_json::json!(format!("job-{i}")));
    }
}
