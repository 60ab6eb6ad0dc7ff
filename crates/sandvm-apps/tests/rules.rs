//! The rule engine: ordering, outputs, per-rule errors and limits, frozen facts.

use std::time::Duration;

use sandvm_apps::rules::{Rule, RuleEngine, RuleLimits, RuleSet};
use sandvm_apps::Error;
use serde_json::json;

fn limits() -> RuleLimits {
    RuleLimits { rule_timeout: Duration::from_millis(50), ..Default::default() }
}

fn engine(yaml: &str) -> RuleEngine {
    let set = RuleSet::from_yaml(yaml, "test.yaml").expect("rule set");
    RuleEngine::new(&set, limits()).expect("engine")
}

fn ids(ev: &sandvm_apps::rules::Evaluation) -> Vec<&str> {
    ev.fired.iter().map(|f| f.id.as_str()).collect()
}

const BASIC: &str = r#"
name: orders
rules:
  - id: low
    priority: 1
    condition: facts.total > 0
    actions: [log]
  - id: big
    description: big orders ship free
    priority: 10
    condition: facts.total > 100
    actions: { shipping: free }
    output: "({ discount: facts.total * 0.1 })"
  - id: never
    condition: facts.total < 0
  - id: same-priority-as-low
    priority: 1
    when: facts.country === 'FR'
    then: vat
"#;

#[test]
fn fires_in_priority_order_with_outputs() {
    let mut e = engine(BASIC);
    assert_eq!(e.rule_set().name(), "orders");
    let ev = e.evaluate(&json!({"total": 200, "country": "FR"})).unwrap();
    assert_eq!(ids(&ev), ["big", "low", "same-priority-as-low"]);
    assert_eq!(ev.fired[0].actions, json!({"shipping": "free"}));
    assert_eq!(ev.fired[0].output, json!({"discount": 20}));
    assert_eq!(ev.fired[2].actions, json!("vat"));
    assert_eq!(ev.fired[1].output, json!(null));
    assert!(ev.errors.is_empty(), "{:?}", ev.errors);
    assert_eq!(ev.evaluated, 4);
    let ev = e.evaluate(&json!({"total": 5, "country": "DE"})).unwrap();
    assert_eq!(ids(&ev), ["low"]);
}

#[test]
fn many_fact_sets_reuse_the_compiled_set() {
    let mut e = engine(BASIC);
    for i in 0..500 {
        let ev = e.evaluate(&json!({"total": i, "country": "DE"})).unwrap();
        assert_eq!(ev.fired.iter().any(|f| f.id == "big"), i > 100);
    }
    assert!(e.quarantined().is_empty());
}

#[test]
fn a_looping_rule_does_not_stop_the_others() {
    let mut e = engine(
        r#"
- { id: first, priority: 3, condition: "true" }
- { id: loop, priority: 2, condition: "(() => { for (;;) {} })()" }
- { id: last, priority: 1, condition: "facts.ok" }
"#,
    );
    for round in 0..3 {
        let ev = e.evaluate(&json!({"ok": true})).unwrap();
        assert_eq!(ids(&ev), ["first", "last"], "round {round}");
        assert_eq!(ev.errors.len(), 1);
        assert_eq!(ev.errors[0].id, "loop");
        assert_eq!(ev.errors[0].kind, "timeout");
        assert_eq!(e.quarantined(), ["loop"]);
    }
}

#[test]
fn memory_hungry_and_throwing_rules_are_reported_per_rule() {
    let mut e = RuleEngine::new(
        &RuleSet::from_yaml(
            r#"
- { id: throws, condition: "facts.missing.deep" }
- { id: hungry, condition: "(() => { const a = []; for (;;) a.push(new Array(1e5).fill(1)); })()" }
- { id: thrower, condition: "(() => { throw 'plain' })()" }
- { id: fine, condition: "true", output: "facts.n + 1" }
"#,
            "t.yaml",
        )
        .unwrap(),
        RuleLimits {
            sandbox: sandvm::Limits { memory: 16 * 1024 * 1024, ..RuleLimits::default().sandbox },
            rule_timeout: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .unwrap();
    let ev = e.evaluate(&json!({"n": 1})).unwrap();
    assert_eq!(ids(&ev), ["fine"]);
    assert_eq!(ev.fired[0].output, json!(2));
    let kinds: Vec<(&str, &str)> = ev.errors.iter().map(|f| (f.id.as_str(), f.kind.as_str())).collect();
    assert_eq!(kinds, [("throws", "exception"), ("hungry", "memory_limit"), ("thrower", "exception")]);
    assert_eq!(ev.errors[0].name.as_deref(), Some("TypeError"));
    assert!(ev.errors[2].message.contains("plain"), "{:?}", ev.errors[2]);
}

#[test]
fn rules_cannot_mutate_facts_or_leave_state() {
    let mut e = engine(
        r#"
- { id: mutate, priority: 9, condition: "(facts.total = 0, true)" }
- { id: push, priority: 8, condition: "(facts.items.push(4), true)" }
- { id: global, priority: 7, condition: "(globalThis.leak = 1, true)" }
- { id: proto, priority: 6, condition: "(Object.prototype.polluted = 1, true)" }
- { id: total-intact, priority: 5, condition: "facts.total === 10 && facts.items.length === 3" }
- { id: no-leak, priority: 4, condition: "typeof leak === 'undefined' && ({}).polluted === undefined" }
"#,
    );
    let facts = json!({"total": 10, "items": [1, 2, 3]});
    for _ in 0..2 {
        let ev = e.evaluate(&facts).unwrap();
        assert_eq!(ids(&ev), ["total-intact", "no-leak"], "{:?}", ev.errors);
        let failed: Vec<&str> = ev.errors.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(failed, ["mutate", "push", "global", "proto"]);
        assert!(ev.errors.iter().all(|f| f.name.as_deref() == Some("TypeError")), "{:?}", ev.errors);
    }
    assert_eq!(facts, json!({"total": 10, "items": [1, 2, 3]}));
}

#[test]
fn stop_rules_end_the_evaluation() {
    let mut e = engine(
        r#"
- { id: a, priority: 3, condition: "true", stop: true }
- { id: b, priority: 2, condition: "true" }
"#,
    );
    let ev = e.evaluate(&json!({})).unwrap();
    assert_eq!(ids(&ev), ["a"]);
    assert_eq!(ev.evaluated, 1);
}

#[test]
fn outputs_without_json_form_are_per_rule_errors() {
    let mut e = engine("- { id: big, condition: 'true', output: '10n' }\n- { id: ok, condition: 'true' }");
    let ev = e.evaluate(&json!({})).unwrap();
    assert_eq!(ids(&ev), ["ok"]);
    assert_eq!(ev.errors[0].kind, "not_json");
}

#[test]
fn bad_rule_sets_are_refused_with_the_rule_named() {
    match RuleSet::from_yaml("- { id: x, condition: 'facts.a >' }", "r.yaml") {
        Err(Error::Rule { rule, source }) => {
            assert_eq!(rule, "x");
            assert!(matches!(*source, sandvm::Error::Syntax { .. }), "{source:?}");
        }
        other => panic!("{other:?}"),
    }
    match RuleSet::from_yaml("- { id: x, condition: '1 })(); ({' }", "r.yaml") {
        Err(Error::Rule { rule, .. }) => assert_eq!(rule, "x"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        RuleSet::from_yaml("- { id: x, condition: 'true' }\n- { id: x, condition: 'true' }", "r.yaml"),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(RuleSet::from_yaml("- { id: x, condition: ' ' }", "r.yaml"), Err(Error::Invalid { .. })));
    assert!(matches!(RuleSet::from_yaml("- { id: x, conditio: 'true' }", "r.yaml"), Err(Error::Parse { .. })));
    assert!(matches!(RuleSet::from_json("[{\"id\": 1}", "r.json"), Err(Error::Parse { .. })));
    let set = RuleSet::new(vec![Rule {
        id: "r".into(),
        description: String::new(),
        priority: 0,
        condition: "facts.x".into(),
        actions: json!(null),
        output: None,
        stop: false,
    }])
    .unwrap();
    assert_eq!(set.evaluate_once(&json!({"x": 1}), limits()).unwrap().fired.len(), 1);
}

#[test]
fn deterministic_by_default() {
    let mut e = engine("- { id: r, condition: 'true', output: '[Math.random(), Date.now()]' }");
    let a = e.evaluate(&json!({})).unwrap();
    let mut e2 = engine("- { id: r, condition: 'true', output: '[Math.random(), Date.now()]' }");
    let b = e2.evaluate(&json!({})).unwrap();
    assert_eq!(a.fired[0].output, b.fired[0].output);
    assert_eq!(a.fired[0].output[1], json!(0));
}

#[test]
fn slow_rules_together_fall_back_to_one_by_one() {
    // Each rule takes ~60 ms of wall time: fine alone under 150 ms, too slow together.
    let slow = "(() => { const t = Date.now(); while (Date.now() - t < 60) {} return true })()";
    let yaml = format!(
        "- {{ id: a, condition: '{slow}' }}\n- {{ id: b, condition: '{slow}' }}\n- {{ id: c, condition: '{slow}' }}"
    );
    let set = RuleSet::from_yaml(&yaml, "slow.yaml").unwrap();
    let mut e = RuleEngine::new(
        &set,
        RuleLimits { rule_timeout: Duration::from_millis(150), deterministic: false, ..Default::default() },
    )
    .unwrap();
    let ev = e.evaluate(&json!({})).unwrap();
    assert_eq!(ev.fired.len(), 3, "{:?}", ev.errors);
    assert!(ev.wall_ms >= 150.0, "{}", ev.wall_ms);
    assert!(e.quarantined().is_empty());
    let ev = e.evaluate(&json!({})).unwrap();
    assert_eq!(ev.fired.len(), 3, "{:?}", ev.errors);
}

/// After a rule hits a limit the core loads the compiled rules again on the fresh engine: the
/// next evaluation works with no reload in the engine, and what a rule left on the global
/// object is gone.
#[test]
fn the_evaluation_after_each_limit_has_the_rules_and_not_the_guest_state() {
    let mut e = RuleEngine::new(
        &RuleSet::from_yaml(
            r#"
- { id: scribble, condition: "(() => { try { globalThis.left = (globalThis.left || 0) + 1 } catch (e) {} ; return true })()", output: "typeof left" }
- { id: spend, condition: "facts.how === 'spin' ? (() => { for (;;) {} })() : facts.how === 'hog' ? (() => { const a = []; for (;;) a.push(new Array(1e5).fill(1)) })() : facts.how === 'deep' ? (() => { const f = () => f(); return f() })() : false" }
- { id: fine, condition: "true", output: "facts.n + 1" }
"#,
            "t.yaml",
        )
        .unwrap(),
        RuleLimits {
            sandbox: sandvm::Limits { memory: 16 * 1024 * 1024, ..RuleLimits::default().sandbox },
            rule_timeout: Duration::from_millis(200),
            ..Default::default()
        },
    )
    .unwrap();
    let ok = e.evaluate(&json!({"n": 1, "how": "none"})).unwrap();
    assert_eq!(ids(&ok), ["scribble", "fine"], "{ok:?}");
    // (A stack overflow inside a rule is the rule's own RangeError, caught per rule: it spends
    // nothing.)
    for (how, kind) in [("spin", "timeout"), ("hog", "memory_limit"), ("deep", "exception"), ("spin", "timeout")] {
        let ev = e.evaluate(&json!({"n": 1, "how": how})).unwrap();
        let kinds: Vec<(&str, &str)> = ev.errors.iter().map(|f| (f.id.as_str(), f.kind.as_str())).collect();
        assert_eq!(kinds, [("spend", kind)], "{how}: {ev:?}");
        assert_eq!(ids(&ev), ["scribble", "fine"], "{how}");
        assert_eq!(ev.fired[1].output, json!(2), "{how}");
    }
}
