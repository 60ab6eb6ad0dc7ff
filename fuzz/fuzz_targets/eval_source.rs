//! Target 1: arbitrary source evaluated under tight limits (50 ms, 16 MiB). Whatever the source
//! does, the run ends with a result or a typed error, never a crash, and the context still
//! works afterwards.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sandvm::{Context, ContextOptions, Limits, Runtime};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    // The first byte picks options, so that frozen and strict contexts are fuzzed too.
    let flags = data.first().copied().unwrap_or(0);
    let limits = Limits {
        timeout: Some(Duration::from_millis(50)),
        memory: 16 * 1024 * 1024,
        max_output: 64 * 1024,
        max_jobs: 10_000,
        ..Default::default()
    };
    let rt = Runtime::new(limits).expect("runtime");
    let opts = ContextOptions::default().strict(flags & 1 != 0).freeze_intrinsics(flags & 2 != 0);
    let ctx = Context::new(&rt, opts).expect("context");
    let _ = ctx.eval(source);
    let _ = ctx.take_console();
    let after = ctx.eval("6 * 7").expect("the context works after any guest run");
    assert_eq!(after.value, Some(serde_json::json!(42)));
});
