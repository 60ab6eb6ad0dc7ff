//! web-platform-tests data for the web API packs, scored per area.
//!
//! The data files under `tests/wpt/` are vendored from web-platform-tests (3-Clause BSD, see
//! `tests/wpt/LICENSE.md`). Each area prints its pass rate and must stay at or above the level
//! recorded here (Node 20's result on the same data is given beside it, measured by
//! `scripts/compat-figures.sh`, which runs the same scorers in Node).

mod common;

use common::*;
use sandvm::{Capabilities, ContextOptions};

fn wpt_ctx() -> sandvm::Context {
    let mut limits = limits_ms(30_000);
    limits.memory = 256 << 20;
    ctx_with(limits, ContextOptions::default().capabilities(Capabilities::all()))
}

fn data(path: &str) -> String {
    let p = format!("{}/tests/wpt/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Runs `script` (which evaluates to `[passed, total, firstFailures]`), prints the rate and
/// checks it against the recorded floor (a percentage).
fn score(area: &str, script: &str, floor: f64) {
    let c = wpt_ctx();
    let v = value(&c, script);
    let pass = v[0].as_u64().unwrap_or(0);
    let total = v[1].as_u64().unwrap_or(0);
    assert!(total > 0, "{area}: no test ran: {v}");
    let rate = 100.0 * pass as f64 / total as f64;
    println!("wpt {area}: {pass}/{total} = {rate:.1}% (floor {floor}%)");
    for f in v[2].as_array().into_iter().flatten().take(200) {
        println!("  fail: {f}");
    }
    assert!(rate >= floor, "{area}: {rate:.1}% is below the recorded {floor}%");
}

/// Runs the scorer `score/NAME.js` (written for sandvm, shared with
/// `scripts/compat-figures.js`, which runs the same files in Node) with `DATA` set to the
/// vendored data file `data`.
fn score_data(area: &str, scorer: &str, data_file: &str, floor: f64) {
    let script = format!("const DATA = {};\n{}", data(data_file), data(&format!("score/{scorer}.js")));
    score(area, &script, floor);
}

/// url/url-constructor.any.js and url/url-origin.any.js on urltestdata.json: one case per entry.
/// 2026-12-03: 869/869 (Node 20: 862/869).
#[test]
fn url_parsing() {
    score_data("URL parsing (urltestdata)", "url_parsing", "url/urltestdata.json", 100.0);
}

/// url/url-setters.any.js on setters_tests.json. 2026-12-03: 274/274 (Node 20: 262/274).
#[test]
fn url_setters() {
    score_data("URL setters", "url_setters", "url/setters_tests.json", 100.0);
}

/// atob/btoa: fetch/data-urls/resources/base64.json (what html/webappapis/atob/base64.any.js
/// checks) and btoa against a reference encoder. 2026-12-03: 416/416 (Node 20: 416/416).
#[test]
fn base64() {
    score_data("atob/btoa", "base64", "fetch/base64.json", 100.0);
}

/// structuredClone: our battery over the categories of WPT's structured-clone battery.
/// 2026-12-03: 127/127 (Node 20: 125/127).
#[test]
fn structured_clone() {
    score("structuredClone", &data("score/structured_clone.js"), 100.0);
}

/// Runs testharness-style files (with the minimal `harness.js`) and scores their subtests.
fn score_files(area: &str, files: &[&str], floor: f64) {
    let mut script = data("harness.js");
    for f in files {
        // Each file in its own function scope, like separate test pages.
        script.push_str(&format!("\n;(function () {{\n{}\n}})();\n", data(f)));
    }
    script.push_str("\n[__results.pass, __results.total, __results.fails]");
    score(area, &script, floor);
}

/// 2026-12-03: 63/63 (Node 20: 63/63).
#[test]
fn url_search_params() {
    score_files(
        "URLSearchParams",
        &[
            "url/urlsearchparams-constructor.any.js",
            "url/urlsearchparams-foreach.any.js",
            "url/urlsearchparams-sort.any.js",
            "url/urlsearchparams-stringifier.any.js",
        ],
        100.0,
    );
}

/// 2026-12-03: 3,620/3,620 (Node 20: 3,614/3,620).
#[test]
fn text_encoding() {
    const RES: &str = "encoding/resources/encodings.js";
    let files: Vec<String> = [
        "api-invalid-label",
        "api-replacement-encodings",
        "encodeInto",
        "textdecoder-copy",
        "textdecoder-eof",
        "textdecoder-labels",
        "textdecoder-streaming",
        "textencoder-constructor-non-utf",
    ]
    .iter()
    .map(|f| format!("encoding/{f}.any.js"))
    .collect();
    let mut script = data("harness.js");
    script.push_str(&data(RES));
    for f in &files {
        script.push_str(&format!("\n;(function () {{\n{}\n}})();\n", data(f)));
    }
    script.push_str("\n[__results.pass, __results.total, __results.fails]");
    score("TextEncoder/TextDecoder", &script, 100.0);
}
