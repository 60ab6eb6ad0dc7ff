//! `sandvm run app.ts`, `--ts` for standard input and `eval`, `.ts` modules, typed failures.
#![cfg(feature = "typescript")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value as Json;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sandvm(args: &[&str], stdin: Option<&str>) -> (i32, Json) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sandvm");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    let text = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out.status.code().unwrap_or(-1), json)
}

#[test]
fn runs_a_ts_file_by_extension() {
    let (code, r) = sandvm(&["run", "examples/typescript/app.ts", "--json"], None);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["value"], serde_json::json!({"largest": "b", "total": 5.25}));
    assert_eq!(r["console"][0]["text"], "INV-1: 5.25 + 1.10 tax EUR (open)");
}

#[test]
fn ts_flag_for_stdin_and_eval() {
    let (code, r) = sandvm(&["run", "-", "--ts", "--json"], Some("const n: number = 6;\nn * 7 as number"));
    assert_eq!((code, r["value"].clone()), (0, serde_json::json!(42)), "{r}");
    let (code, r) = sandvm(&["eval", "--ts", "enum E { A = 3 } E.A", "--json"], None);
    assert_eq!((code, r["value"].clone()), (0, serde_json::json!(3)), "{r}");
    // Without --ts the same source is a JavaScript syntax error.
    let (code, r) = sandvm(&["eval", "const n: number = 1", "--json"], None);
    assert_eq!((code, r["error"]["kind"].clone()), (1, serde_json::json!("syntax")), "{r}");
}

#[test]
fn syntax_errors_report_typescript_positions() {
    let src = "interface A {\n  a: number;\n}\nconst x: A = { a: 1 ;\n";
    let (code, r) = sandvm(&["run", "-", "--ts", "--json"], Some(src));
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["error"]["kind"], "syntax");
    assert_eq!(
        (r["error"]["line"].clone(), r["error"]["column"].clone()),
        (serde_json::json!(4), serde_json::json!(21))
    );
}

#[test]
fn oversized_typescript_is_typed() {
    let big = "let a: number = 1;\n".repeat(600_000);
    let (code, r) = sandvm(&["run", "-", "--ts", "--json"], Some(&big));
    assert_eq!(r["error"]["kind"], "source_too_large", "{r}");
    assert_eq!(code, 2);
}

fn sandvm_text(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sandvm")).args(args).current_dir(root()).output().expect("run sandvm");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn test_runner_finds_and_runs_test_ts_files() {
    let (code, out) = sandvm_text(&["test", "examples/typescript/tests"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 passed"), "{out}");
}

#[test]
fn config_files_may_be_typescript() {
    let (code, out) = sandvm_text(&["config", "eval", "examples/typescript/app.config.ts", "--env", "STAGE=prod"]);
    assert_eq!(code, 0, "{out}");
    let v: Json = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v, serde_json::json!({"stage": "prod", "port": 8080, "debug": false}));
}

#[test]
fn repl_ts_reads_typed_multi_line_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .args(["repl", "--ts", "--no-history"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sandvm repl");
    let input = "interface P {\n  x: number;\n}\nconst p: P = { x: 41 };\nfunction inc(n: number): number {\n  return n + 1;\n}\ninc(p.x) as number\nlet bad: = 1\n'after ' + typeof p\n";
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let both = format!("{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(0), "{both}");
    assert!(stdout.lines().any(|l| l.trim() == "42"), "{both}");
    assert!(both.contains("SyntaxError"), "{both}");
    assert!(stdout.contains("'after object'"), "{both}");
}

#[test]
fn template_helpers_files_may_be_typescript() {
    let (code, out) = sandvm_text(&[
        "template",
        "render",
        "examples/typescript/templates/invoice.hbs",
        "--data",
        "examples/typescript/templates/invoice.json",
        "--helpers",
        "examples/typescript/templates/helpers.ts",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), "ADA: apple €1.50; pear €0.75;");
}

#[test]
fn plugins_may_have_a_typescript_entry() {
    let (code, out) = sandvm_text(&[
        "plugin",
        "run",
        "examples/typescript/plugins",
        "--event",
        "order.created",
        "--payload",
        r#"{"id":"o-1","lines":[{"sku":"a","cents":250},{"sku":"b","cents":125}]}"#,
        "--repeat",
        "2",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    // One JSON line per event; the plugin keeps its store between them.
    let last = out.trim().lines().last().unwrap_or_default();
    let v: Json = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["results"][0]["value"], serde_json::json!({"id": "o-1", "revenue": 750}), "{out}");
}
