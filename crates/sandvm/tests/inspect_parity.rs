//! Differential of console formatting against Node 20: `inspect_parity/cases.js` lists the
//! argument lists of `console.log` calls, `inspect_parity/expected.json` holds what Node's
//! `util.format` printed for each (regenerate with `node crates/sandvm/tests/inspect_parity/gen.js`).
//! The test prints every difference and checks the share of identical outputs against the
//! recorded level.
//!
//! Deliberate difference left (1 of 557 on 2026-12-03): `%o` of a plain `function` lacks V8's
//! own `arguments` and `caller` properties (`[arguments]: null, [caller]: null`), which the
//! engine's functions do not have (QuickJS-ng keeps them as throwing accessors on
//! `Function.prototype`, as strict mode does); sandvm shows the properties a function really
//! has. Map and Set iterators preview the entries they have left, as Node does, without
//! advancing the guest's iterator.

mod common;

use common::*;
use sandvm::ContextOptions;

/// The share of identical outputs (in percent) this version reaches; it may only go up.
const FLOOR: f64 = 99.5;

#[test]
fn console_output_matches_node() {
    let path = format!("{}/tests/inspect_parity/expected.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let data: serde_json::Value = serde_json::from_str(&text).expect("expected.json");
    let cases = data["cases"].as_array().expect("cases");
    assert!(cases.len() >= 500, "the differential needs at least 500 cases, has {}", cases.len());
    let c = ctx_with(limits_ms(10_000), ContextOptions::default());
    let (mut same, mut diffs) = (0usize, Vec::new());
    for case in cases {
        let (src, want) = (case[0].as_str().unwrap_or_default(), case[1].as_str().unwrap_or_default());
        let got = match c.eval(&format!("console.log(...({src})); undefined")) {
            Ok(_) => c.take_console().into_iter().map(|e| e.text).collect::<Vec<_>>().join("\n"),
            Err(e) => format!("<error {e:?}>"),
        };
        if got == want {
            same += 1;
        } else {
            diffs.push(format!("{src}\n    node:   {want:?}\n    sandvm: {got:?}"));
        }
    }
    let rate = 100.0 * same as f64 / cases.len() as f64;
    println!("console/inspect parity with Node {}: {same}/{} = {rate:.1}% (floor {FLOOR}%)", data["node"], cases.len());
    for d in &diffs {
        println!("  diff: {d}");
    }
    assert!(rate >= FLOOR, "{rate:.1}% identical is below the recorded {FLOOR}%");
}

/// Console placeholders run guest conversions inside the run (bounded by its limits); the
/// host-side rendering of the completion value never does.
#[test]
fn console_conversions_run_in_the_guest_and_display_stays_hook_free() {
    let c = ctx_with(limits_ms(300), ContextOptions::default());
    let done = c
        .eval("globalThis.calls = 0; const o = { toString() { calls++; return 'S' }, get [Symbol.toStringTag]() { calls++; return 'T' } }; console.log('%s', o); o")
        .expect("eval");
    assert_eq!(c.take_console()[0].text, "S");
    assert!(done.display.contains("[Symbol(Symbol.toStringTag)]: [Getter]"), "{}", done.display);
    assert_eq!(value(&c, "calls"), serde_json::json!(1));
    // A conversion that never ends is stopped by the run's time limit.
    assert_eq!(c.eval("console.log('%s', { toString() { for (;;) {} } })"), Err(sandvm::Error::Timeout));
}
