//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use sandvm::{Context, ContextOptions, Limits, Runtime};

pub fn limits_ms(ms: u64) -> Limits {
    Limits { timeout: Some(Duration::from_millis(ms)), ..Default::default() }
}

pub fn ctx_with(limits: Limits, opts: ContextOptions) -> Context {
    let rt = Runtime::new(limits).expect("runtime");
    Context::new(&rt, opts).expect("context")
}

pub fn ctx() -> Context {
    ctx_with(limits_ms(2000), ContextOptions::default())
}

pub fn value(ctx: &Context, src: &str) -> serde_json::Value {
    match ctx.eval(src) {
        Ok(c) => c.value.unwrap_or(serde_json::Value::Null),
        Err(e) => panic!("eval of {src:?} failed: {e:?}"),
    }
}

/// Resident set size of this process, in KiB (0 when /proc is unavailable).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
