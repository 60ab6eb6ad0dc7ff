//! Runs every test of the official Mustache specification (required modules and the
//! optional lambdas, inheritance and dynamic-names modules) in Mustache mode, when the spec
//! is available, and always a set of spec-format cases kept in this repository
//! (`tests/mustache_cases.json`).
//!
//! The official spec files are not part of the repository. They are read from the directory
//! named by the environment variable `SANDVM_MUSTACHE_SPEC` (a checkout of
//! <https://github.com/mustache/spec>'s `specs/` directory); when it is unset, from
//! `../shared/specs/mustache` next to the workspace root if that exists. Without either, the
//! spec tests print a notice and are skipped.

use std::io::Write;
use std::path::{Path, PathBuf};

use sandvm_template::{Mode, TemplateOptions, Templates};
use serde_json::Value;

/// The spec directory, or `None` (with a notice on standard error) when it is not available.
fn spec_dir() -> Option<PathBuf> {
    let (dir, from_env) = match std::env::var_os("SANDVM_MUSTACHE_SPEC") {
        Some(d) => (PathBuf::from(d), true),
        None => (PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/mustache"), false),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    if from_env {
        // A directory asked for explicitly must exist: a typo should not pass silently.
        panic!("SANDVM_MUSTACHE_SPEC={} is not a directory", dir.display());
    }
    // Written to the process's standard error directly: the test harness captures
    // `eprintln!` of passing tests, and this notice must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "notice: skipping the official Mustache spec tests: set SANDVM_MUSTACHE_SPEC to the spec's \
         `specs` directory to run them (not found: {})",
        dir.display()
    );
    None
}

/// Runs one spec file of `dir` and returns (passed, failures).
fn run_file(dir: &Path, file: &str) -> (usize, Vec<String>) {
    let path = dir.join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read the spec file {}: {e}", path.display()));
    let spec: Value = serde_json::from_str(&text).expect("spec file is JSON");
    run_suite(file, &spec)
}

/// Runs the tests of one spec-format document and returns (passed, failures).
fn run_suite(file: &str, spec: &Value) -> (usize, Vec<String>) {
    let tests = spec["tests"].as_array().expect("spec has tests");
    assert!(!tests.is_empty(), "{file} has no tests");
    let mut passed = 0;
    let mut failures = Vec::new();
    for t in tests {
        let name = t["name"].as_str().unwrap_or("?").to_string();
        match run_test(t) {
            Ok(()) => passed += 1,
            Err(msg) => failures.push(format!("{file}: {name}: {msg}")),
        }
    }
    (passed, failures)
}

fn run_test(t: &Value) -> Result<(), String> {
    let options = TemplateOptions { mode: Mode::Mustache, ..Default::default() };
    let mut tpl = Templates::with_options(sandvm::Limits::default(), options).map_err(|e| format!("setup: {e}"))?;
    let mut data = t["data"].clone();
    // Lambdas: `{"__tag__": "code", "js": "..."}` values become JavaScript functions,
    // registered as helpers (visible at the bottom of the context stack).
    if let Value::Object(map) = &mut data {
        let code_keys: Vec<String> = map
            .iter()
            .filter(|(_, v)| v.get("__tag__").and_then(Value::as_str) == Some("code"))
            .map(|(k, _)| k.clone())
            .collect();
        for k in code_keys {
            let js = map.get(&k).and_then(|v| v.get("js")).and_then(Value::as_str).unwrap_or_default().to_string();
            map.remove(&k);
            tpl.register_helper_js(&k, &js).map_err(|e| format!("lambda {k}: {e}"))?;
        }
    }
    if let Some(Value::Object(partials)) = t.get("partials") {
        for (name, src) in partials {
            tpl.register_partial(name, src.as_str().unwrap_or_default()).map_err(|e| format!("partial {name}: {e}"))?;
        }
    }
    let template = t["template"].as_str().unwrap_or_default();
    tpl.register_template("test", template).map_err(|e| format!("parse: {e}"))?;
    let got = tpl.render("test", &data).map_err(|e| format!("render: {e}"))?;
    let expected = t["expected"].as_str().unwrap_or_default();
    if got == expected {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {got:?}"))
    }
}

const FILES: &[&str] = &[
    "comments.json",
    "delimiters.json",
    "interpolation.json",
    "inverted.json",
    "partials.json",
    "sections.json",
    "~lambdas.json",
    "~inheritance.json",
    "~dynamic-names.json",
];

#[test]
fn mustache_spec_all_files() {
    let Some(dir) = spec_dir() else { return };
    let mut all_failures = Vec::new();
    let mut summary = Vec::new();
    for f in FILES {
        let (passed, failures) = run_file(&dir, f);
        summary.push(format!("{f}: {passed}/{}", passed + failures.len()));
        all_failures.extend(failures);
    }
    eprintln!("mustache spec: {}", summary.join(", "));
    assert!(all_failures.is_empty(), "{} mustache spec tests failed:\n{}", all_failures.len(), all_failures.join("\n"));
}

#[test]
fn every_spec_file_is_present() {
    let Some(dir) = spec_dir() else { return };
    for f in FILES {
        assert!(dir.join(f).is_file(), "missing spec file {f} in {}", dir.display());
    }
}

/// The in-repository cases (always run): interpolation, escaping, sections, inverted
/// sections, lists, dotted names, partials with indentation, delimiters, comments, lambdas,
/// inheritance and dynamic names.
#[test]
fn in_repo_mustache_cases() {
    let spec: Value = serde_json::from_str(include_str!("mustache_cases.json")).expect("cases are JSON");
    let (passed, failures) = run_suite("mustache_cases.json", &spec);
    assert!(failures.is_empty(), "{} in-repo mustache cases failed:\n{}", failures.len(), failures.join("\n"));
    assert!(passed >= 20, "only {passed} cases ran");
}
