//! Target 2: host <-> guest value conversion.
//! - Bytes that parse as JSON go in with `set_global` and come back out: the copy must be exact
//!   for JSON without floats (floats are checked to come back as numbers).
//! - Other bytes are guest source whose completion value is rendered (`display`) and copied out
//!   as JSON: never a crash, and what comes out is valid JSON.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sandvm::{Context, ContextOptions, Limits, Runtime};
use serde_json::Value;

/// True when the value holds only strings, booleans, null and integers that JavaScript
/// represents exactly (so the round trip must be the identity).
fn exact(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_i64().is_some_and(|i| i.abs() < (1 << 53)),
        Value::Array(a) => a.iter().all(exact),
        Value::Object(o) => o.values().all(exact),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = Limits { timeout: Some(Duration::from_millis(50)), memory: 16 * 1024 * 1024, ..Default::default() };
    let rt = Runtime::new(limits).expect("runtime");
    let ctx = Context::new(&rt, ContextOptions::default()).expect("context");
    if let Ok(json) = serde_json::from_str::<Value>(text) {
        if ctx.set_global("x", &json).is_err() {
            return; // e.g. over the memory limit
        }
        let back = ctx.eval("x").expect("reading a global back");
        if exact(&json) {
            // An object key "__proto__" stays an own data property; key order is kept.
            assert_eq!(back.value.as_ref(), Some(&json), "round trip of {text}");
        }
        let via_guest = ctx.eval("JSON.parse(JSON.stringify(x))").expect("guest copy");
        assert_eq!(via_guest.value, back.value);
        return;
    }
    if let Ok(done) = ctx.eval(text) {
        if let Some(v) = &done.value {
            serde_json::to_string(v).expect("the JSON copy serialises");
        }
        let _ = done.display.len();
    }
    let _ = ctx.eval("6 * 7").expect("the context works after any guest run");
});
