//! Rule evaluations of different customers do not leak into each other: hostile rules write
//! to everything reachable (host hooks, their prototypes, the global object and its lexical
//! scope, intrinsics, RegExp statics) and the next customer's evaluation must equal a run in
//! a fresh engine.

use sandvm_apps::rules::{RuleEngine, RuleLimits, RuleSet};
use serde_json::json;

const HOSTILE: &str = r#"
- id: write
  priority: 10
  condition: |
    (() => {
      const s = facts.secret;
      if (!facts.write) return true;
      const tries = [
        () => { __sandvm_rules_all.leak = s; },
        () => { __sandvm_rules_one.leak = s; },
        () => { __sandvm_rules_all.prototype.leak = s; },
        () => { Object.getPrototypeOf(__sandvm_rules_all).leak = s; },
        () => { (0, eval)('let leakLexical = ' + JSON.stringify(s)); },
        () => { (0, eval)('var leakVar = ' + JSON.stringify(s)); },
        () => { globalThis.leakGlobal = s; },
        () => { Object.prototype.leakProto = s; },
        () => { Array.prototype.leakArray = s; },
        () => { console.leak = s; },
        () => { console.log.leak = s; },
        () => { Math.leak = s; },
        () => { JSON.leak = s; },
        () => { /(.+)/.exec(s); },
        () => { Error.stackTraceLimit = s.length; },
        () => { Function('return this')().leakFn = s; },
        () => { rules[1] = () => [1, s]; },
        () => { stops[0] = true; },
      ];
      for (const t of tries) { try { t(); } catch (_) {} }
      return true;
    })()
- id: read
  priority: 1
  condition: "true"
  output: |
    (() => {
      const probes = {
        all: () => __sandvm_rules_all.leak,
        one: () => __sandvm_rules_one.leak,
        allProto: () => __sandvm_rules_all.prototype && __sandvm_rules_all.prototype.leak,
        fnProto: () => Object.getPrototypeOf(__sandvm_rules_all).leak,
        lexical: () => (0, eval)('typeof leakLexical === "undefined" ? null : leakLexical'),
        varDecl: () => globalThis.leakVar,
        global: () => globalThis.leakGlobal,
        objectProto: () => ({}).leakProto,
        arrayProto: () => [].leakArray,
        console: () => console.leak,
        consoleLog: () => console.log.leak,
        math: () => Math.leak,
        json: () => JSON.leak,
        regexp: () => RegExp.$1,
        regexpLast: () => RegExp.lastMatch,
        stackTraceLimit: () => Error.stackTraceLimit,
        fnGlobal: () => Function('return this')().leakFn,
        token: () => typeof TOKEN === 'undefined' ? null : TOKEN,
        rulesArray: () => typeof rules === 'undefined' ? null : String(rules.length),
        hookPrototype: () => typeof __sandvm_rules_all.prototype,
        hookFrozen: () => Object.isFrozen(__sandvm_rules_all) && Object.isFrozen(__sandvm_rules_one),
        hookCall: () => typeof __sandvm_rules_all === 'function' ? String(__sandvm_rules_all(facts, [])) : null,
      };
      const out = {};
      for (const k of Object.keys(probes)) {
        try { const v = probes[k](); out[k] = v === undefined ? null : v; } catch (e) { out[k] = 'threw ' + (e && e.name); }
      }
      return out;
    })()
"#;

fn limits() -> RuleLimits {
    RuleLimits { rule_timeout: std::time::Duration::from_secs(2), ..Default::default() }
}

#[test]
fn customer_b_sees_nothing_of_customer_a() {
    sandvm_apps::on_big_stack(|| {
        let set = RuleSet::from_yaml(HOSTILE, "hostile.yaml").unwrap();
        let a = json!({"secret": "customer-A-secret-1234", "write": true});
        let b = json!({"secret": "b", "write": false});
        let mut shared = RuleEngine::new(&set, limits()).unwrap();
        let first = shared.evaluate(&a).unwrap();
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        let after_a = shared.evaluate(&b).unwrap();
        let fresh = RuleEngine::new(&set, limits()).unwrap().evaluate(&b).unwrap();
        assert!(after_a.errors.is_empty(), "{:?}", after_a.errors);
        let shown = serde_json::to_string(&after_a.fired).unwrap();
        assert!(!shown.contains("customer-A"), "customer A's facts leaked: {shown}");
        assert_eq!(after_a.fired, fresh.fired);
        let probes = &after_a.fired[1].output;
        assert_eq!(probes["all"], json!(null));
        assert_eq!(probes["allProto"], json!(null));
        assert_eq!(probes["token"], json!(null));
        assert_eq!(probes["rulesArray"], json!(null));
        assert_eq!(probes["hookPrototype"], json!("undefined"));
        assert_eq!(probes["hookFrozen"], json!(true));
        assert_eq!(probes["hookCall"], json!("threw TypeError"));
        // And the reverse order gives A the same as a fresh run.
        let again_a = shared.evaluate(&a).unwrap();
        assert_eq!(again_a.fired, RuleEngine::new(&set, limits()).unwrap().evaluate(&a).unwrap().fired);
    })
    .unwrap();
}
