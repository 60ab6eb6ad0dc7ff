//! Rule engine throughput: a 100-rule set evaluated against 1,000 fact sets.
//!
//! `cargo run --release -p sandvm-apps --example rules_bench` prints evaluations per second
//! (and rule evaluations per second). Pass a number to change the count of fact sets.

use std::time::Instant;

use sandvm_apps::rules::{Rule, RuleEngine, RuleLimits, RuleSet};
use serde_json::json;

fn main() -> sandvm_apps::Result<()> {
    let fact_sets: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let countries = ["FR", "DE", "IT", "ES", "US", "JP"];
    let rules: Vec<Rule> = (0..100)
        .map(|i| Rule {
            id: format!("rule-{i}"),
            description: format!("synthetic rule {i}"),
            priority: (i % 7) as i64,
            condition: match i % 4 {
                0 => format!("facts.order.total > {} && facts.customer.country === '{}'", i * 10, countries[i % 6]),
                1 => format!("facts.order.items.some(it => it.qty >= {})", i % 13),
                2 => format!("facts.customer.tier === 'vip' || facts.customer.orders > {}", i),
                _ => format!("facts.order.items.reduce((s, it) => s + it.qty * it.price, 0) > {}", i * 5),
            },
            actions: json!({"tag": format!("t{i}")}),
            output: (i % 10 == 0).then(|| "({ total: facts.order.total })".to_string()),
            stop: false,
        })
        .collect();
    let set = RuleSet::new(rules)?;
    let facts: Vec<serde_json::Value> = (0..fact_sets)
        .map(|n| {
            json!({
                "customer": { "tier": if n % 5 == 0 { "vip" } else { "std" }, "country": countries[n % 6], "orders": n % 40 },
                "order": {
                    "total": (n * 37 % 1000) as f64 + 0.5,
                    "items": [
                        { "sku": "a", "qty": n % 15, "price": 2.5 },
                        { "sku": "b", "qty": 1 + n % 3, "price": 19.0 },
                        { "sku": "c", "qty": 2, "price": 7.25 }
                    ]
                }
            })
        })
        .collect();
    let mut engine = RuleEngine::new(&set, RuleLimits::default())?;
    // Warm up.
    for f in facts.iter().take(50) {
        engine.evaluate(f)?;
    }
    let started = Instant::now();
    let mut fired = 0usize;
    let mut errors = 0usize;
    for f in &facts {
        let ev = engine.evaluate(f)?;
        fired += ev.fired.len();
        errors += ev.errors.len();
    }
    let secs = started.elapsed().as_secs_f64();
    let per_sec = facts.len() as f64 / secs;
    println!(
        "{} rules x {} fact sets: {:.0} evaluations/s ({:.0} rule evaluations/s, {:.1} µs per fact set), {} fired, {} errors",
        set.rules().len(),
        facts.len(),
        per_sec,
        per_sec * set.rules().len() as f64,
        secs * 1e6 / facts.len() as f64,
        fired,
        errors
    );
    assert_eq!(errors, 0);
    Ok(())
}
