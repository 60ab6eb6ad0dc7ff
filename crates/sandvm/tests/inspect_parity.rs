//! Differential of console formatting against Node 20: `inspect_parity/cases.js` lists the
//! argument lists of `console.log` calls, `inspect_parity/expected.json` holds what Node's
//! `util.format` printed for each (regenerate with `node crates/sandvm/tests/inspect_parity/gen.js`).
//! The test prints every difference and checks the share of identical outputs against the
//! recorded level.

mod common;

use common::*;
use sandvm::ContextOptions;

/// The share of identical outputs (in percent) this version reaches; it may only go up.
const FLOOR: f64 = 98.0;

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
