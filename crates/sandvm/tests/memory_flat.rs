//! Recovery after limits does not leak: alone in its own test binary, so that other tests'
//! allocations do not disturb the RSS figures.

mod common;

use common::rss_kib;

use std::time::Duration;

use sandvm::{Context, ContextOptions, Error, Limits, Runtime};
use serde_json::json;

#[test]
fn a_thousand_alternating_limit_hits_keep_memory_flat() {
    let limits = Limits { memory: 8 * 1024 * 1024, timeout: Some(Duration::from_millis(20)), ..Default::default() };
    let rt = Runtime::new(limits).unwrap();
    let c = Context::new(&rt, ContextOptions::default()).unwrap();
    let run = |i: usize| match i % 3 {
        0 => assert_eq!(c.eval("let a = []; for (;;) a.push(new Array(10000).fill(1))"), Err(Error::MemoryLimit)),
        1 => assert_eq!(c.eval("while (true) {}"), Err(Error::Timeout)),
        _ => assert_eq!(c.eval("[1, 2, 3].map(x => x * 2).join()").map(|c| c.value), Ok(Some(json!("2,4,6")))),
    };
    for i in 0..150 {
        run(i);
    }
    let before = rss_kib();
    for i in 0..1000 {
        run(i);
    }
    let after = rss_kib();
    // Flat: each of these runs touches up to 8 MiB of engine heap; a leak of even one runtime
    // per run would add gigabytes. Allow 16 MiB of allocator noise.
    assert!(after < before + 16 * 1024, "RSS grew from {before} KiB to {after} KiB");
}
