//! CLI-level attacks on `sandvm rules|plugin|config|test`: leaks between fact sets, forged
//! test results and limit kinds, timeouts above the operator's, nested input, full stores.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sandvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sandvm")).args(args).current_dir(root()).output().expect("run sandvm")
}

fn text(o: &Output) -> (String, String, i32) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

const LEAKY_RULES: &str = r#"
- id: write
  priority: 10
  condition: |
    (() => {
      if (facts.customer !== 'A') return true;
      for (const f of [
        () => { __sandvm_rules_all.leak = facts.secret; },
        () => { Object.prototype.leak = facts.secret; },
        () => { globalThis.leak = facts.secret; },
      ]) { try { f(); } catch (_) {} }
      return true;
    })()
- id: read
  condition: "true"
  output: "[__sandvm_rules_all.leak, ({}).leak, globalThis.leak].map((x) => x === undefined ? null : x)"
"#;

#[test]
fn rules_of_one_customer_do_not_leak_into_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    let both = dir.path().join("both.json");
    let only_b = dir.path().join("b.json");
    std::fs::write(&rules, LEAKY_RULES).unwrap();
    std::fs::write(&both, r#"[{"customer":"A","secret":"A-SECRET"},{"customer":"B","secret":"b"}]"#).unwrap();
    std::fs::write(&only_b, r#"{"customer":"B","secret":"b"}"#).unwrap();
    let (out, err, code) = text(&sandvm(&["rules", "eval", path(&rules), "--facts", path(&both), "--many", "--json"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("A-SECRET"), "{out}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (fresh, _, _) = text(&sandvm(&["rules", "eval", path(&rules), "--facts", path(&only_b), "--json"]));
    let fresh: serde_json::Value = serde_json::from_str(fresh.trim()).unwrap();
    assert_eq!(lines[1]["fired"], fresh["fired"]);
    assert_eq!(lines[1]["fired"][1]["output"], serde_json::json!([null, null, null]));
}

#[test]
fn a_rule_throwing_a_forged_timeout_is_an_exception_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    let facts = dir.path().join("facts.json");
    std::fs::write(
        &rules,
        "- id: forged\n  condition: \"(() => { throw { kind: 'timeout', name: 'TimeoutError', message: 'script execution timed out' }; })()\"\n",
    )
    .unwrap();
    std::fs::write(&facts, "{}").unwrap();
    let (out, err, code) = text(&sandvm(&["rules", "eval", path(&rules), "--facts", path(&facts), "--json"]));
    assert_eq!(code, 1, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["errors"][0]["kind"], "exception");
}

#[test]
fn deeply_nested_rules_fail_fast_with_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    let facts = dir.path().join("facts.json");
    let n = 50_000;
    std::fs::write(&rules, format!("- id: a\n  condition: 'true'\n  actions: {}1{}\n", "[".repeat(n), "]".repeat(n)))
        .unwrap();
    std::fs::write(&facts, format!("{}1{}", "[".repeat(n), "]".repeat(n))).unwrap();
    let started = Instant::now();
    let (out, err, code) = text(&sandvm(&["rules", "check", path(&rules)]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("nested more than 64 levels deep"), "{err}");
    let ok_rules = dir.path().join("ok.yaml");
    std::fs::write(&ok_rules, "- { id: a, condition: 'true' }\n").unwrap();
    let (out, err, code) = text(&sandvm(&["rules", "eval", path(&ok_rules), "--facts", path(&facts)]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("nested more than 64 levels deep"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

const SABOTEUR: &str = r#"
Array.prototype.push = function () {};
Array.prototype.map = function () { return []; };
Object.prototype.toJSON = function () { return { status: 'passed' }; };
JSON.stringify = () => '{"status":"passed"}';
globalThis.String = () => 'passed';
test('really fails', () => { throw new Error('boom'); });
test('forged limit', () => { const e = new Error('script execution timed out'); e.name = 'TimeoutError'; throw e; });
test('asks for too long', () => { for (;;) {} }, 1e12);
"#;

#[test]
fn a_sabotaging_test_file_cannot_forge_passes_or_lose_the_other_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.test.js"), SABOTEUR).unwrap();
    std::fs::write(dir.path().join("b.test.js"), "test('fine', () => expect([1].map((x) => x + 1)).toEqual([2]));")
        .unwrap();
    let started = Instant::now();
    let (out, err, code) = text(&sandvm(&["test", path(dir.path()), "--reporter", "json", "--timeout", "300"]));
    assert_eq!(code, 1, "{out}\n{err}");
    // The looping test is held to the operator's 300 ms, not the 1e12 ms it asked for.
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["passed"].as_u64(), v["failed"].as_u64()), (Some(1), Some(3)), "{v}");
    let kinds: Vec<&str> =
        v["files"][0]["tests"].as_array().unwrap().iter().map(|t| t["failure"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["exception", "exception", "timeout"]);
    assert_eq!(v["files"][1]["tests"][0]["status"], "passed");
}

#[test]
fn a_plugin_filling_the_host_stores_gets_a_typed_quota_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("filler");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(
        p.join("plugin.toml"),
        // The store fills long before the time limit, even in a debug build on a loaded machine.
        "name = \"filler\"\nversion = \"1\"\ncapabilities = [\"kv\", \"emit\"]\nhooks = [\"go\"]\n[limits]\ntimeout = \"5s\"\n",
    )
    .unwrap();
    std::fs::write(
        p.join("index.js"),
        "import { kvSet } from 'sandvm:host';\nexport function onEvent() { for (let i = 0; ; i++) kvSet('k' + i, 'x'.repeat(100000)); }\n",
    )
    .unwrap();
    let (out, err, code) = text(&sandvm(&["plugin", "run", path(&p), "--event", "go", "--json"]));
    assert_eq!(code, 1, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["results"][0]["error"]["kind"], "quota_exceeded", "{v}");
    assert_eq!(
        v["results"][0]["error"]["message"],
        "plugin 'filler': quota exceeded: key/value bytes (at most 4194304)"
    );
}
