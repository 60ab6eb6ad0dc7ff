//! Runs every test of the official Mustache specification (required modules and the
//! optional lambdas, inheritance and dynamic-names modules) in Mustache mode.
//!
//! The spec files are read from `/work/shared/specs/mustache/` (relative to this crate:
//! `../../../shared/specs/mustache`); they are not copied into the repository.

use std::path::PathBuf;

use sandvm_template::{Mode, TemplateOptions, Templates};
use serde_json::Value;

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/mustache")
}

/// Runs one spec file and returns (passed, failures).
fn run_file(file: &str) -> (usize, Vec<String>) {
    let path = spec_dir().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read the spec file {}: {e}", path.display()));
    let spec: Value = serde_json::from_str(&text).expect("spec file is JSON");
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
    let mut all_failures = Vec::new();
    let mut summary = Vec::new();
    for f in FILES {
        let (passed, failures) = run_file(f);
        summary.push(format!("{f}: {passed}/{}", passed + failures.len()));
        all_failures.extend(failures);
    }
    eprintln!("mustache spec: {}", summary.join(", "));
    assert!(all_failures.is_empty(), "{} mustache spec tests failed:\n{}", all_failures.len(), all_failures.join("\n"));
}

#[test]
fn every_spec_file_is_present() {
    for f in FILES {
        assert!(spec_dir().join(f).is_file(), "missing spec file {f}");
    }
}
