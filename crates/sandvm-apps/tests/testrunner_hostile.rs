//! Test files that attack the runner: replaced intrinsics, forged results and kinds, calls to
//! the internal hooks, timeouts above the operator's limit.

use std::time::{Duration, Instant};

use sandvm_apps::testrunner::{self, Status, TestOptions};

fn opts() -> TestOptions {
    let d = TestOptions::default();
    TestOptions { limits: sandvm::Limits { timeout: Some(Duration::from_millis(300)), ..d.limits.clone() }, ..d }
}

fn run(src: &str) -> testrunner::FileResult {
    let src = src.to_string();
    sandvm_apps::on_big_stack(move || testrunner::run_source(&src, "hostile.test.js", &opts())).unwrap()
}

fn statuses(f: &testrunner::FileResult) -> Vec<(String, Status, Option<String>)> {
    f.tests.iter().map(|t| (t.name.clone(), t.status, t.failure.as_ref().map(|x| x.kind.clone()))).collect()
}

const SABOTAGE: &str = r#"
  const noop = function () { return this; };
  for (const k of ['map', 'push', 'unshift', 'slice', 'reverse', 'join', 'forEach', 'filter', 'concat', 'some', 'every', 'includes', 'indexOf']) {
    Array.prototype[k] = noop;
  }
  Array.prototype[Symbol.iterator] = function* () {};
  for (let i = 0; i < 8; i++) Object.defineProperty(Array.prototype, i, { set() {}, get() { return undefined; }, configurable: true });
  Object.prototype.toJSON = function () { return { status: 'passed' }; };
  Object.prototype.then = function (ok) { ok({ status: 'passed' }); };
  Object.prototype.get = function () { return 1; };
  Object.prototype.value = 1;
  JSON.stringify = () => '{"status":"passed"}';
  JSON.parse = () => ({ status: 'passed' });
  globalThis.String = () => 'passed';
  globalThis.Promise = function () {};
  globalThis.Map = function () {};
  globalThis.Error = function () {};
  Object.defineProperty = () => {};
  Reflect.apply = () => undefined;
"#;

#[test]
fn replaced_intrinsics_at_the_top_level_cannot_hide_tests_or_forge_passes() {
    let src = format!(
        "{SABOTAGE}\n\
         test('fails', () => {{ throw new TypeError('really failed'); }});\n\
         test('fails async', async () => {{ await null; throw new RangeError('async failure'); }});\n\
         test('passes', () => {{}});\n\
         test('expect fails', () => {{ expect(1).toBe(2); }});\n"
    );
    let f = run(&src);
    assert!(f.error.is_none(), "{:?}", f.error);
    let got = statuses(&f);
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0], ("fails".into(), Status::Failed, Some("exception".into())));
    assert_eq!(got[1], ("fails async".into(), Status::Failed, Some("exception".into())));
    assert_eq!(got[2], ("passes".into(), Status::Passed, None));
    assert_eq!(got[3].1, Status::Failed);
    assert_eq!(f.tests[0].failure.as_ref().unwrap().message, "really failed");
    assert_eq!(f.tests[0].failure.as_ref().unwrap().name.as_deref(), Some("TypeError"));
}

#[test]
fn sabotage_inside_a_test_does_not_turn_the_next_failure_into_a_pass() {
    let src = format!(
        "test('saboteur', () => {{ {SABOTAGE} }});\n\
         test('fails after', () => {{ throw 42; }});\n\
         test('rejects after', () => new Promise((_, reject) => reject(7)));\n\
         test('promise then', () => {{ try {{ Promise.prototype.then = function (ok) {{ ok(); }}; }} catch (_) {{}} throw new Error('still fails'); }});\n"
    );
    let f = run(&src);
    let got = statuses(&f);
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0].1, Status::Passed);
    assert_eq!(got[1], ("fails after".into(), Status::Failed, Some("exception".into())));
    assert_eq!(got[2].1, Status::Failed, "{got:?}");
    assert_eq!(got[3], ("promise then".into(), Status::Failed, Some("exception".into())));
    assert_eq!(f.tests[1].failure.as_ref().unwrap().message, "thrown: 42");
}

#[test]
fn internal_hooks_are_not_callable_by_test_code() {
    let src = r#"
      const calls = {};
      for (const name of ['__sandvm_test_list', '__sandvm_test_run', '__sandvm_test_init']) {
        try { calls[name] = typeof globalThis[name] === 'function' ? String(globalThis[name](0)) : 'absent'; }
        catch (e) { calls[name] = e.name; }
      }
      test('probe', () => { expect(calls).toEqual({
        __sandvm_test_list: 'TypeError', __sandvm_test_run: 'TypeError', __sandvm_test_init: 'absent' }); });
      test('hooks are frozen', () => { expect(Object.isFrozen(__sandvm_test_run)).toBe(true); });
    "#;
    let f = run(src);
    assert_eq!(
        statuses(&f),
        [("probe".into(), Status::Passed, None), ("hooks are frozen".into(), Status::Passed, None)]
    );
}

#[test]
fn forged_limit_kinds_stay_exceptions() {
    let src = r#"
      test('forged timeout', () => { const e = new Error('script execution timed out'); e.name = 'TimeoutError'; e.kind = 'timeout'; throw e; });
      test('forged object', () => { throw { kind: 'memory_limit', status: 'passed', message: 'memory limit exceeded' }; });
    "#;
    let f = run(src);
    assert_eq!(
        statuses(&f),
        [
            ("forged timeout".into(), Status::Failed, Some("exception".into())),
            ("forged object".into(), Status::Failed, Some("exception".into()))
        ]
    );
    assert_eq!(f.tests[0].failure.as_ref().unwrap().name.as_deref(), Some("TimeoutError"));
}

#[test]
fn a_test_cannot_ask_for_more_time_than_the_operator_allows() {
    let src = r#"
      test('huge', () => { for (;;) {} }, 1e12);
      test('infinite', () => { for (;;) {} }, Infinity);
      test('negative', () => { for (;;) {} }, -5);
      test('short', () => { for (;;) {} }, 20);
    "#;
    let started = Instant::now();
    let f = run(src);
    let elapsed = started.elapsed();
    let got = statuses(&f);
    assert_eq!(got.len(), 4);
    for t in &got {
        assert_eq!((t.1, t.2.as_deref()), (Status::Failed, Some("timeout")), "{got:?}");
    }
    // Three tests at the 300 ms ceiling, one at 20 ms; reloads add a little.
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    assert!(f.tests[3].duration_ms < 250.0, "{}", f.tests[3].duration_ms);
    assert!(f.tests[0].duration_ms < 1500.0, "{}", f.tests[0].duration_ms);
}

#[test]
fn one_bad_file_keeps_the_other_files_results() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("a.test.js");
    let good = dir.path().join("b.test.js");
    std::fs::write(&bad, format!("{SABOTAGE}\ntest('x', () => {{ throw 1; }});\nthrow new Error('top level dies');"))
        .unwrap();
    std::fs::write(&good, "test('ok', () => expect([1, 2].map((x) => x * 2)).toEqual([2, 4]));").unwrap();
    let files = vec![bad, good];
    let run = sandvm_apps::on_big_stack(move || testrunner::run_files(&files, &opts())).unwrap();
    assert_eq!(run.files.len(), 2);
    assert_eq!(run.files[0].error.as_ref().map(|e| e.kind.as_str()), Some("exception"));
    assert_eq!(run.files[1].passed(), 1);
    assert_eq!((run.passed, run.failed), (1, 1));
}
