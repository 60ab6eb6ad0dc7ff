//! Target 8: the rules loader of `sandvm-apps` (`RuleSet::from_yaml` / `from_json`, which parse,
//! validate and compile every condition and output in the sandbox). Arbitrary text goes in;
//! what must hold: a typed `sandvm_apps::Error` or a rule set, never a panic or a crash, and a
//! loaded set evaluates (against facts built from the same bytes) to an evaluation or a typed
//! error within its limits.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sandvm_apps::rules::{RuleLimits, RuleSet};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let loaded =
        if flags & 1 == 0 { RuleSet::from_yaml(text, "fuzz.yaml") } else { RuleSet::from_json(text, "fuzz.json") };
    let Ok(set) = loaded else { return };
    let limits = RuleLimits {
        rule_timeout: Duration::from_millis(20),
        evaluation_timeout: Duration::from_millis(200),
        sandbox: sandvm::Limits { memory: 16 << 20, ..RuleLimits::default().sandbox },
        ..Default::default()
    };
    let facts = serde_json::json!({ "n": flags, "s": text.len(), "customer": { "tier": "vip" }, "order": { "total": 120, "items": [] } });
    if let Ok(ev) = set.evaluate_once(&facts, limits) {
        assert!(ev.evaluated <= set.rules().len(), "evaluated {} of {} rules", ev.evaluated, set.rules().len());
        assert!(ev.fired.len() <= ev.evaluated, "{} fired of {} evaluated", ev.fired.len(), ev.evaluated);
    }
});
