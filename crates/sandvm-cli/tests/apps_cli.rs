//! `sandvm plugin`, `sandvm rules`, `sandvm config`, `sandvm test`: outputs and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

#[test]
fn plugin_run_disables_the_hostile_plugin_and_keeps_the_greeter() {
    let (out, err, code) = text(&sandvm(&[
        "plugin",
        "run",
        "examples/plugins",
        "--event",
        "user.created",
        "--payload",
        r#"{"name":"Ada"}"#,
        "--repeat",
        "4",
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains(r#"greeter: ok {"text":"Welcome, Ada!","count":4}"#), "{out}");
    assert!(out.contains("hostile: error [timeout] script execution timed out (now disabled)"), "{out}");
    assert!(out.contains("hostile: disabled"), "{out}");
    assert!(out.contains("[hostile] log: keys I can see: [] greeted = null"), "{out}");
    let (out, _, code) = text(&sandvm(&[
        "plugin",
        "run",
        "examples/plugins/greeter",
        "--event",
        "user.created",
        "--payload",
        "{}",
        "--json",
    ]));
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["results"][0]["value"]["text"], "Welcome, stranger!");
    assert_eq!(v["emitted"][0]["name"], "greeting.sent");
}

#[test]
fn plugin_check_and_ungranted_capabilities() {
    let (out, err, code) = text(&sandvm(&["plugin", "check", "examples/plugins"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("ok greeter 1.0.0"), "{out}");
    assert!(out.contains("exports [activate, deactivate, onEvent]"), "{out}");
    let (out, err, code) = text(&sandvm(&["plugin", "check", "examples/plugins/greeter", "--grant", "kv"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("requests capability 'emit', which the host has not granted"), "{err}");
    let (_, err, code) = text(&sandvm(&["plugin", "check", "examples/nope"]));
    assert_eq!(code, 2, "{err}");
    let (_, err, code) = text(&sandvm(&["plugin", "run", "examples/plugins", "--event", "x", "--payload", "{"]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn rules_eval_and_check() {
    let (out, err, code) =
        text(&sandvm(&["rules", "eval", "examples/rules/rules.yaml", "--facts", "examples/rules/facts.json"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("fired vip-discount (priority 100)"), "{out}");
    assert!(out.contains("3 fired, 0 failed, 4 evaluated"), "{out}");
    let (out, _, code) = text(&sandvm(&[
        "rules",
        "eval",
        "examples/rules/rules.yaml",
        "--facts",
        "examples/rules/facts.json",
        "--json",
    ]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["fired"][0]["output"]["saved"], 24.05);
    assert_eq!(v["fired"].as_array().unwrap().len(), 3);
    let (out, _, code) = text(&sandvm(&["rules", "check", "examples/rules/rules.yaml"]));
    assert_eq!(code, 0);
    assert!(out.contains("ok order-rules: 4 rules"), "{out}");
    // A looping rule is reported, the others fire, the exit code says a rule failed.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yaml");
    std::fs::write(&rules, "- { id: loop, condition: 'eval(\"for(;;){}\")' }\n- { id: ok, condition: facts.x }\n")
        .unwrap();
    let facts = dir.path().join("f.json");
    std::fs::write(&facts, r#"[{"x": true}, {"x": false}]"#).unwrap();
    let (out, err, code) = text(&sandvm(&[
        "rules",
        "eval",
        rules.to_str().unwrap(),
        "--facts",
        facts.to_str().unwrap(),
        "--many",
        "--rule-timeout",
        "30",
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("fired ok"), "{out}");
    assert!(out.contains("error loop [timeout]"), "{out}");
    std::fs::write(&rules, "- { id: bad, condition: 'facts.x >' }\n").unwrap();
    let (_, err, code) = text(&sandvm(&["rules", "check", rules.to_str().unwrap()]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("rule 'bad'"), "{err}");
    std::fs::write(&rules, "- { id: [unclosed\n").unwrap();
    assert_eq!(text(&sandvm(&["rules", "check", rules.to_str().unwrap()])).2, 2);
}

#[test]
fn config_eval_formats_schema_and_env() {
    let args = ["config", "eval", "examples/config/app.config.js", "--schema", "examples/config/schema.json"];
    let (a, err, code) = text(&sandvm(&args));
    assert_eq!(code, 0, "{err}");
    let (b, _, _) = text(&sandvm(&args));
    assert_eq!(a, b, "deterministic output");
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["stage"], "dev");
    let out = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .args([
            "config",
            "eval",
            "examples/config/app.config.js",
            "--format",
            "toml",
            "--env",
            "STAGE",
            "--env",
            "PORT=9000",
        ])
        .env("STAGE", "prod")
        .env("PORT", "1")
        .current_dir(root())
        .output()
        .unwrap();
    let (out, err, code) = text(&out);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stage = \"prod\""), "{out}");
    assert!(out.contains("port = 9000"), "{out}");
    let (out, _, code) = text(&sandvm(&["config", "eval", "examples/config/app.config.js", "--format", "yaml"]));
    assert_eq!(code, 0);
    assert!(out.starts_with("name: shop\n"), "{out}");
    // Variables not named are invisible even when set.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("leak.config.js");
    std::fs::write(&cfg, "export default (env) => ({ keys: Object.keys(env) })").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .args(["config", "eval", cfg.to_str().unwrap()])
        .env("SECRET_TOKEN", "x")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).replace(char::is_whitespace, ""), r#"{"keys":[]}"#);
    // Schema violations: exit 1 with instance paths.
    let (_, err, code) = text(&sandvm(&[
        "config",
        "eval",
        "examples/config/app.config.js",
        "--schema",
        "examples/config/schema.json",
        "--env",
        "STAGE=qa",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/stage: \"qa\" is not one of"), "{err}");
    // Hostile configs: typed errors.
    std::fs::write(&cfg, "import fs from 'fs'; export default {}").unwrap();
    let (_, err, code) = text(&sandvm(&["config", "eval", cfg.to_str().unwrap()]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot find module 'fs'"), "{err}");
    std::fs::write(&cfg, "export default { home: process.env.HOME }").unwrap();
    let (_, err, code) = text(&sandvm(&["config", "eval", cfg.to_str().unwrap()]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("ReferenceError"), "{err}");
    std::fs::write(&cfg, "for (;;) {}").unwrap();
    let (_, err, code) = text(&sandvm(&["config", "eval", cfg.to_str().unwrap(), "--timeout", "50"]));
    assert_eq!(code, 3, "{err}");
    let (_, err, code) = text(&sandvm(&["config", "eval", "examples/config/app.config.js", "--format", "xml"]));
    assert_eq!(code, 1, "{err}");
}

#[test]
fn test_runner_reporters_and_exit_codes() {
    let (out, err, code) = text(&sandvm(&["test", "examples/tests"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.ends_with("Tests: 11 passed, 0 failed, 1 skipped\n"), "{out}");
    let fixture = "crates/sandvm-apps/tests/fixtures/tests/failing.test.js";
    let (out, err, code) = text(&sandvm(&["test", fixture, "examples/tests/math.test.js", "--memory", "24"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("✗ hangs [timeout]"), "{out}");
    assert!(out.contains("✓ runs after the hang"), "{out}");
    assert!(out.contains("✗ blows the memory limit [memory_limit]"), "{out}");
    assert!(out.ends_with("Tests: 10 passed, 6 failed, 1 skipped\n"), "{out}");
    let (out, _, code) = text(&sandvm(&["test", fixture, "--reporter", "tap", "--memory", "24"]));
    assert_eq!(code, 1);
    assert!(out.starts_with("TAP version 13\n1..10\n"), "{out}");
    let (out, _, code) = text(&sandvm(&["test", "examples/tests", "--reporter", "json"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["passed"], 11);
    let (_, err, code) = text(&sandvm(&["test", "examples/config"]));
    assert_eq!(code, 2, "{err}");
    let (_, _, code) = text(&sandvm(&["test"]));
    assert_eq!(code, 2);
}
