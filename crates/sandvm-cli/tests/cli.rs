//! The `sandvm` binary: exit codes, the JSON contract, flags, hostile input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn sandvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sandvm")).args(args).output().expect("spawn sandvm")
}

fn json_run(args: &[&str]) -> (i32, Value) {
    let out = sandvm(args);
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    assert_eq!(stdout.lines().count(), 1, "exactly one line of JSON: {stdout:?}");
    let v: Value = serde_json::from_str(&stdout).expect("valid JSON");
    (out.status.code().expect("exit code, not a signal"), v)
}

/// The contract's keys, exactly.
fn assert_shape(v: &Value) {
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["status", "value", "display", "error", "console", "stats"]);
    let stats: Vec<_> = v["stats"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(stats, ["wall_ms", "cpu_ms", "heap_bytes"]);
    if !v["error"].is_null() {
        let ek: Vec<_> = v["error"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(ek, ["kind", "name", "message", "stack", "line", "column"]);
    }
}

#[test]
fn eval_human_mode_prints_console_then_value() {
    let out = sandvm(&["eval", "console.log('hi', {a: 1}); [1, 2, 3].map(x => x * 2)"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi { a: 1 }\n[ 2, 4, 6 ]\n");
}

#[test]
fn json_ok_contract() {
    let (code, v) = json_run(&["eval", "--json", "console.warn('w'); ({x: [1, 'a']})"]);
    assert_eq!(code, 0);
    assert_shape(&v);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["value"], json!({"x": [1, "a"]}));
    assert_eq!(v["display"], "{ x: [ 1, 'a' ] }");
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["console"], json!([{"level": "warn", "text": "w"}]));
    assert!(v["stats"]["heap_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn json_error_kinds_and_exit_codes() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["eval", "--json", "throw new TypeError('bad')"], 1, "exception"),
        (&["eval", "--json", "let = ;"], 1, "syntax"),
        (&["eval", "--json", "--timeout", "100", "while (true) {}"], 3, "timeout"),
        (&["eval", "--json", "--timeout", "100", "async function f() { for (;;) await 0 } f()"], 3, "timeout"),
        (&["eval", "--json", "--memory", "16", "let a = []; for (;;) a.push(a.length + 'x')"], 3, "memory_limit"),
        (&["eval", "--json", "function r() { r() } r()"], 3, "stack_overflow"),
        (&["eval", "--json", "--max-output", "100", "for (;;) console.log('spam')"], 3, "output_limit"),
        (&["eval", "--json", "--max-jobs", "10", "(async () => { for (;;) await 0 })()"], 3, "job_limit"),
        (&["eval", "--json", "new Promise(() => {})"], 1, "unsettled"),
    ];
    for (args, code, kind) in cases {
        let (c, v) = json_run(args);
        assert_shape(&v);
        assert_eq!(c, *code, "{args:?}: {v}");
        assert_eq!(v["status"], "error", "{args:?}");
        assert_eq!(v["error"]["kind"], *kind, "{args:?}: {v}");
    }
    let (_, v) = json_run(&["eval", "--json", "\n  throw new TypeError('bad')"]);
    assert_eq!(v["error"]["name"], "TypeError");
    assert_eq!(v["error"]["message"], "bad");
    assert_eq!(v["error"]["line"], 2);
    assert_eq!(v["error"]["column"], 13);
}

#[test]
fn hostile_programs_never_kill_the_process() {
    for src in [
        "while (1) {}",
        "for (;;) a.push(a)",
        "var a = []; for (;;) a.push(a)",
        "function r() { r() } r()",
        "'x'.repeat(2 ** 29)",
        "new Array(2 ** 32 - 1).join()",
        "[].concat.apply([], new Array(1e6))",
        "/(x+x+)+y/.test('x'.repeat(100))",
    ] {
        let out = sandvm(&["eval", "--json", "--timeout", "300", src]);
        let code = out.status.code();
        assert!(matches!(code, Some(0..=3)), "{src}: {code:?} (killed by a signal?)");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_shape(&v);
    }
}

#[test]
fn the_watchdog_ends_uninterruptible_builtins() {
    let t = std::time::Instant::now();
    let (code, v) = json_run(&["eval", "--json", "--timeout", "200", "new Array(2 ** 32 - 1).join().length"]);
    assert_eq!(code, 3);
    assert_eq!(v["error"]["kind"], "timeout");
    // Generous bound: the watchdog fires at the deadline plus a grace period, not never.
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn run_file_stdin_and_io_errors() {
    let dir = std::env::temp_dir().join(format!("sandvm-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ok.js");
    std::fs::write(&file, "var x = 20; x + 22").unwrap();
    let out = sandvm(&["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");

    let bad = dir.join("bad.js");
    std::fs::write(&bad, [0x66, 0xff, 0xfe]).unwrap();
    let out = sandvm(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid UTF-8"));

    let out = sandvm(&["run", dir.join("missing.js").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));

    let out = sandvm(&["run", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));

    let mut child = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .args(["run", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"6 * 7").unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["value"], 42);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["eval"][..],
        &["eval", "1", "--timeout", "soon"],
        &["eval", "1", "--memory", "0"],
        &["eval", "1", "--memory", "-1"],
        &["eval", "1", "--memory", "1e999 GiB"],
        &["eval", "1", "--memory", "NaN"],
        &["eval", "1", "--timeout", "5 parsecs"],
        &["eval", "1", "--max-jobs", "1.5"],
        &["eval", "1", "--global", "novalue"],
        &["eval", "1", "--global", "x={bad json"],
        &["eval", "1", "--global", "=1"],
        &["frobnicate"],
        &["eval", "1", "--seed", "3"],
    ] {
        let out = sandvm(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn flags_reach_the_sandbox() {
    let (_, v) =
        json_run(&["eval", "--json", "--global", "user={\"name\":\"Ada\"}", "--global", "n=2", "user.name.repeat(n)"]);
    assert_eq!(v["value"], "AdaAda");
    let (_, v) = json_run(&["eval", "--json", "--strict", "undeclared = 1"]);
    assert_eq!(v["error"]["name"], "ReferenceError");
    let (_, v) = json_run(&["eval", "--json", "--freeze", "Object.prototype.x = 1; ({}).x"]);
    assert_eq!(v["value"], Value::Null);
    assert_eq!(v["status"], "ok");
    let (_, a) = json_run(&["eval", "--json", "--deterministic", "--seed", "7", "[Math.random(), Date.now()]"]);
    let (_, b) = json_run(&["eval", "--json", "--deterministic", "--seed", "7", "[Math.random(), Date.now()]"]);
    assert_eq!(a["value"], b["value"]);
    assert_eq!(a["value"][1], 0);
    let (_, v) = json_run(&["eval", "--json", "--no-eval", "typeof eval"]);
    assert_eq!(v["value"], "undefined");
    // Limit flags take their old units (ms, MiB, KiB) or a number with a unit.
    let (code, v) = json_run(&["eval", "--json", "--timeout", "50ms", "for (;;) {}"]);
    assert_eq!((code, v["error"]["kind"].as_str()), (3, Some("timeout")));
    let bomb = "let a = []; for (;;) a.push(a.length + 'x')";
    let (code, v) = json_run(&["eval", "--json", "--memory", "8 MiB", "--timeout", "5s", bomb]);
    assert_eq!((code, v["error"]["kind"].as_str()), (3, Some("memory_limit")));
    let (code, v) = json_run(&["eval", "--json", "--max-output", "1 KiB", "'x'.repeat(2000)"]);
    assert_eq!((code, v["error"]["kind"].as_str()), (3, Some("output_limit")));
    let (code, v) = json_run(&["eval", "--json", "--max-output", "4 KiB", "'x'.repeat(2000).length"]);
    assert_eq!((code, v["value"].as_i64()), (0, Some(2000)));
}

#[test]
fn help_documents_exit_codes() {
    let out = sandvm(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Exit codes") && text.contains("3  limit hit"), "{text}");
}

#[test]
fn module_and_capability_flags() {
    let dir = std::env::temp_dir().join(format!("sandvm-cli-mod-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(dir.join("lib/x.mjs"), "export const x = 'from lib';").unwrap();
    std::fs::write(
        dir.join("main.mjs"),
        "import { x } from './lib/x.mjs'; import { sha256 } from 'sandvm:crypto'; export default x; export const h = sha256('a').slice(0, 8);",
    )
    .unwrap();
    let main = dir.join("main.mjs");
    let root = dir.to_str().unwrap();
    let (code, v) = json_run(&[
        "run",
        "--json",
        "--module",
        main.to_str().unwrap(),
        "--module-root",
        root,
        "--allow-module",
        "sandvm:crypto",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["value"], json!({"default": "from lib", "h": "ca978112"}));
    // Without the allow-list entry: a typed refusal, exit 1.
    let (code, v) = json_run(&["run", "--json", "--module", main.to_str().unwrap(), "--module-root", root]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["kind"], "module_not_allowed");
    assert_eq!(v["error"]["name"], "ModuleNotAllowed");
    // Without a root, files are not reachable at all.
    let (_, v) = json_run(&["run", "--json", "--module", main.to_str().unwrap(), "--allow-module", "sandvm:*"]);
    assert_eq!(v["error"]["kind"], "module_not_found");
    let (_, v) = json_run(&["eval", "--json", "--cap", "timers", "new Promise(r => setTimeout(() => r('later'), 5))"]);
    assert_eq!(v["value"], "later");
    let (_, v) = json_run(&["eval", "--json", "typeof setTimeout"]);
    assert_eq!(v["value"], "undefined");
    assert_eq!(sandvm(&["eval", "1", "--cap", "fs"]).status.code(), Some(2));
    // The bytecode cache directory: a second run hits the cache, a tampered entry is recompiled.
    let cache = dir.join("cache");
    for _ in 0..2 {
        let (code, v) = json_run(&["eval", "--json", "--cache-dir", cache.to_str().unwrap(), "6 * 7"]);
        assert_eq!((code, v["value"].clone()), (0, json!(42)));
    }
    for e in std::fs::read_dir(&cache).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "sbc") {
            std::fs::write(&p, b"garbage").unwrap();
        }
    }
    let (code, v) = json_run(&["eval", "--json", "--cache-dir", cache.to_str().unwrap(), "6 * 7"]);
    assert_eq!((code, v["value"].clone()), (0, json!(42)));
    // The REPL takes the same flags.
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .args(["repl", "--no-history", "--allow-module", "sandvm:crypto", "--cap", "url"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"require('sandvm:crypto').sha256('a').length\nnew URL('http://h/a?b=1').search\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "64\n'?b=1'\n");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_watchdog_also_guards_the_app_commands() {
    let dir = std::env::temp_dir().join(format!("sandvm-cli-wd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let test_file = dir.join("stuck.test.js");
    std::fs::write(&test_file, "test('stuck', () => { new Array(2 ** 32 - 1).join() })").unwrap();
    let config = dir.join("app.config.js");
    std::fs::write(&config, "export default { x: new Array(2 ** 32 - 1).join().length }").unwrap();
    for args in [
        vec!["test", test_file.to_str().unwrap(), "--timeout", "200"],
        vec!["config", "eval", config.to_str().unwrap(), "--timeout", "200"],
    ] {
        let t = std::time::Instant::now();
        let out = sandvm(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be interrupted"));
        // Generous bound: ended by the watchdog (deadline + 1 s grace), not by the builtin.
        assert!(t.elapsed() < std::time::Duration::from_secs(30), "{args:?} took {:?}", t.elapsed());
    }
    std::fs::remove_dir_all(&dir).ok();
}
