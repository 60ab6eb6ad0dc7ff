//! Guest-controlled input (rules, facts, manifests, schemas) is bounded in size and nesting
//! before any parser or converter walks it, in time linear in its size.

use std::time::{Duration, Instant};

use sandvm_apps::input::{MAX_DEPTH, MAX_INPUT_BYTES};
use sandvm_apps::plugin::Manifest;
use sandvm_apps::rules::{RuleEngine, RuleLimits, RuleSet};
use sandvm_apps::Error;
use serde_json::json;

fn too_deep(what: &str) -> Error {
    Error::TooDeep { what: what.into(), limit: MAX_DEPTH }
}

#[test]
fn deeply_nested_rules_are_refused_fast() {
    // 100 KB of flow nesting took 15 s (debug build) in the YAML parser before this check.
    let n = 50_000;
    let yaml = format!("- id: a\n  condition: 'true'\n  actions: {}1{}\n", "[".repeat(n), "]".repeat(n));
    let started = Instant::now();
    assert_eq!(RuleSet::from_yaml(&yaml, "deep.yaml").unwrap_err(), too_deep("deep.yaml"));
    let json =
        format!("[{{\"id\":\"a\",\"condition\":\"true\",\"actions\":{}1{}}}]", "{\"a\":".repeat(n), "}".repeat(n));
    assert_eq!(RuleSet::from_json(&json, "deep.json").unwrap_err(), too_deep("deep.json"));
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

#[test]
fn nesting_at_the_limit_is_accepted_and_brackets_in_strings_do_not_count() {
    let ok = format!(
        "- id: a\n  condition: \"'{}'.length > 0\"\n  actions: {}1{}\n",
        "[".repeat(500),
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    let set = RuleSet::from_yaml(&ok, "ok.yaml").unwrap();
    assert_eq!(set.rules().len(), 1);
    let over = format!(
        "- id: a\n  condition: 'true'\n  actions: {}1{}\n",
        "[".repeat(MAX_DEPTH + 1),
        "]".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(RuleSet::from_yaml(&over, "over.yaml").unwrap_err(), too_deep("over.yaml"));
}

#[test]
fn oversized_input_is_refused() {
    let big = format!("- id: a\n  condition: 'true'\n  description: '{}'\n", "x".repeat(MAX_INPUT_BYTES));
    assert!(matches!(
        RuleSet::from_yaml(&big, "big.yaml").unwrap_err(),
        Error::TooLarge { limit: MAX_INPUT_BYTES, .. }
    ));
    let manifest = format!("name = \"p\"\nversion = \"1\"\ndescription = \"{}\"\n", "x".repeat(MAX_INPUT_BYTES));
    assert!(matches!(Manifest::from_toml(&manifest, "plugin.toml").unwrap_err(), Error::TooLarge { .. }));
    let deep = format!("name = \"p\"\nversion = \"1\"\nhooks = {}\"a\"{}\n", "[".repeat(100), "]".repeat(100));
    assert_eq!(Manifest::from_toml(&deep, "plugin.toml").unwrap_err(), too_deep("plugin.toml"));
}

#[test]
fn facts_nested_too_deep_are_a_typed_error() {
    sandvm_apps::on_big_stack(|| {
        let set = RuleSet::from_yaml("- { id: a, condition: 'true' }", "r.yaml").unwrap();
        let mut engine = RuleEngine::new(&set, RuleLimits::default()).unwrap();
        // Built in Rust, not parsed: deeper than any parser would let through.
        let mut facts = json!(1);
        for _ in 0..1000 {
            facts = json!([facts]);
        }
        assert_eq!(engine.evaluate(&facts).unwrap_err(), too_deep("facts"));
        // The engine still works.
        assert_eq!(engine.evaluate(&json!({})).unwrap().fired.len(), 1);
    })
    .unwrap();
}
