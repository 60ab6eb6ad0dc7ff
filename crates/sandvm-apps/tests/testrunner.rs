//! The test runner: the framework, per-test limits, hostile test files, reporters.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sandvm_apps::testrunner::{self, Status, TestOptions};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tests")
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tests")
}

fn opts() -> TestOptions {
    let d = TestOptions::default();
    let limits = sandvm::Limits { timeout: Some(Duration::from_secs(2)), memory: 24 * 1024 * 1024, ..d.limits.clone() };
    TestOptions { limits, ..d }
}

#[test]
fn example_tests_pass() {
    let files = testrunner::find_test_files(&[examples()]).unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    let run = testrunner::run_files(&files, &opts());
    for f in &run.files {
        for t in &f.tests {
            assert!(t.status != Status::Failed, "{}: {} failed: {:?}", f.file, t.name, t.failure);
        }
        assert!(f.error.is_none(), "{:?}", f.error);
    }
    assert!(run.success());
    assert_eq!(run.passed, 11);
    assert_eq!(run.skipped, 1);
    let human = testrunner::render_human(&run);
    assert!(human.ends_with("Tests: 11 passed, 0 failed, 1 skipped\n"), "{human}");
    assert!(human.contains("✓ add > adds numbers"), "{human}");
}

#[test]
fn failures_of_every_kind_are_reported_and_the_run_goes_on() {
    let f = testrunner::run_file(&fixtures().join("failing.test.js"), &opts());
    assert!(f.error.is_none(), "{:?}", f.error);
    let got: Vec<(&str, Status, Option<&str>)> =
        f.tests.iter().map(|t| (t.name.as_str(), t.status, t.failure.as_ref().map(|x| x.kind.as_str()))).collect();
    assert_eq!(
        got,
        [
            ("passes first", Status::Passed, None),
            ("assertion fails", Status::Failed, Some("assertion")),
            ("throws", Status::Failed, Some("exception")),
            ("hangs", Status::Failed, Some("timeout")),
            ("runs after the hang", Status::Passed, None),
            ("blows the memory limit", Status::Failed, Some("memory_limit")),
            ("never settles", Status::Failed, Some("unsettled")),
            ("rejects", Status::Failed, Some("exception")),
            ("passes last", Status::Passed, None),
            ("skipped", Status::Skipped, None),
        ]
    );
    let assertion = f.tests[1].failure.as_ref().unwrap();
    assert!(assertion.message.contains("Expected: {a: 2}"), "{}", assertion.message);
    assert!(assertion.message.contains("Received: {a: 1}"), "{}", assertion.message);
    assert_eq!(f.tests[2].failure.as_ref().unwrap().name.as_deref(), Some("TypeError"));
    assert!(f.tests[3].duration_ms < 1500.0, "the per-test timeout of 100 ms applies: {}", f.tests[3].duration_ms);
    assert_eq!(f.tests[7].failure.as_ref().unwrap().message, "async boom");
    assert_eq!((f.passed(), f.failed(), f.skipped()), (3, 6, 1));
}

#[test]
fn a_hanging_file_does_not_stop_the_others() {
    let files = vec![fixtures().join("failing.test.js"), examples().join("math.test.js")];
    let run = testrunner::run_files(&files, &opts());
    assert_eq!(run.files[1].failed(), 0);
    assert_eq!(run.files[1].passed(), 7);
    assert_eq!(run.failed, 6);
    let tap = testrunner::render_tap(&run);
    assert!(tap.starts_with("TAP version 13\n1..17\n"), "{tap}");
    assert!(tap.contains("not ok 4 - "), "{tap}");
    assert!(tap.contains("kind: timeout"), "{tap}");
    assert!(tap.contains("# SKIP"), "{tap}");
    assert!(tap.ends_with("# 10 passed, 6 failed, 1 skipped\n"), "{tap}");
    let json: serde_json::Value = serde_json::from_str(&testrunner::render_json(&run)).unwrap();
    assert_eq!(json["failed"], 6);
    assert_eq!(json["files"][0]["tests"][3]["failure"]["kind"], "timeout");
}

#[test]
fn hooks_console_and_only() {
    let f = testrunner::run_file(&fixtures().join("hooks.test.js"), &opts());
    assert_eq!(f.failed(), 0, "{:?}", f.tests);
    assert_eq!(f.tests[0].name, "outer > one");
    assert_eq!(f.tests[2].console[0].text, "hello from a test");
    let f = testrunner::run_file(&fixtures().join("only.test.js"), &opts());
    let got: Vec<(&str, Status)> = f.tests.iter().map(|t| (t.name.as_str(), t.status)).collect();
    assert_eq!(
        got,
        [("not run", Status::Skipped), ("the only one", Status::Passed), ("focused > inside", Status::Passed)]
    );
}

#[test]
fn files_that_cannot_run_count_as_failures() {
    let f = testrunner::run_file(&fixtures().join("syntax.test.js"), &opts());
    assert_eq!(f.error.as_ref().map(|e| e.kind.as_str()), Some("syntax"));
    assert_eq!(f.failed(), 1);
    let f = testrunner::run_file(&fixtures().join("missing.test.js"), &opts());
    assert_eq!(f.error.as_ref().map(|e| e.kind.as_str()), Some("io"));
    let f = testrunner::run_source(
        "for (;;) {}",
        "top.test.js",
        &TestOptions { collect_timeout: Duration::from_millis(50), ..opts() },
    );
    assert_eq!(f.error.as_ref().map(|e| e.kind.as_str()), Some("timeout"));
    let f = testrunner::run_source("import fs from 'fs'; test('x', () => {});", "fs.test.js", &opts());
    assert_eq!(f.error.as_ref().map(|e| e.kind.as_str()), Some("module_not_found"));
}

#[test]
fn matcher_failures_have_useful_messages() {
    let src = r#"
test('toBe', () => expect(1).toBe(2));
test('not', () => expect([1]).not.toContain(1));
test('toThrow', () => expect(() => {}).toThrow());
test('resolves', async () => { await expect(Promise.reject(1)).resolves.toBe(1); });
test('rejects', async () => { await expect(Promise.resolve(1)).rejects.toThrow(); });
test('closeTo', () => expect(0.3).toBeCloseTo(0.4));
test('strict', () => expect({ a: undefined }).toStrictEqual({}));
test('length', () => expect('abc').toHaveLength(2));
test('throw null', () => { throw null; });
"#;
    let f = testrunner::run_source(src, "m.test.js", &opts());
    assert_eq!(f.failed(), 9, "{:?}", f.tests);
    let msg = |i: usize| f.tests[i].failure.as_ref().unwrap().message.clone();
    assert!(msg(0).starts_with("expect(received).toBe(expected)\n\nExpected: 2\nReceived: 1"), "{}", msg(0));
    assert!(msg(1).contains(".not.toContain"), "{}", msg(1));
    assert!(msg(2).contains("did not throw"), "{}", msg(2));
    assert!(msg(3).contains("rejected instead of resolved"), "{}", msg(3));
    assert!(msg(4).contains("resolved instead of rejected"), "{}", msg(4));
    assert!(msg(7).contains("Received length: 3"), "{}", msg(7));
    assert!(msg(8).contains("thrown: null"), "{}", msg(8));
}

#[test]
fn filter_and_deterministic_mode() {
    let src = "test('random', () => expect(Math.random()).toBe(globalThis.__r ?? Math.random()));\n\
               test('date', () => expect(Date.now()).toBe(0));";
    let det = TestOptions { deterministic: true, filter: Some("date".into()), ..opts() };
    let f = testrunner::run_source(src, "d.test.js", &det);
    assert_eq!(f.tests[0].status, Status::Skipped);
    assert_eq!(f.tests[1].status, Status::Passed, "{:?}", f.tests[1].failure);
}

/// After a test hits a limit the core replays the framework and the file's top level on a
/// fresh engine: the next test runs with what the file set up, not what earlier tests left.
#[test]
fn the_test_after_each_limit_sees_the_file_set_up_again() {
    let source = r#"
        const setUp = { loads: (globalThis.loads = (globalThis.loads || 0) + 1) };
        let left = 0;
        const check = (name) => it(name, () => {
            expect([setUp.loads, left, typeof globalThis.scribble]).toEqual([1, 0, 'undefined']);
            left++; globalThis.scribble = 1;
        });
        check('first');
        it('spins', () => { for (;;) {} });
        check('after a timeout');
        it('hogs', () => { const a = []; for (;;) a.push(new Array(1e5).fill(1)); });
        check('after running out of memory');
    "#;
    let d = TestOptions::default();
    let limits =
        sandvm::Limits { timeout: Some(Duration::from_millis(200)), memory: 16 * 1024 * 1024, ..d.limits.clone() };
    let opts = TestOptions { limits, ..d };
    let f = testrunner::run_source(source, "replay.test.js", &opts);
    assert!(f.error.is_none(), "{:?}", f.error);
    let got: Vec<(&str, Status, Option<&str>)> =
        f.tests.iter().map(|t| (t.name.as_str(), t.status, t.failure.as_ref().map(|x| x.kind.as_str()))).collect();
    assert_eq!(
        got,
        [
            ("first", Status::Passed, None),
            ("spins", Status::Failed, Some("timeout")),
            ("after a timeout", Status::Passed, None),
            ("hogs", Status::Failed, Some("memory_limit")),
            ("after running out of memory", Status::Passed, None),
        ],
        "{:?}",
        f.tests.iter().map(|t| &t.failure).collect::<Vec<_>>()
    );
}
