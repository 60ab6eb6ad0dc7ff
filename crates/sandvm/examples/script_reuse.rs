//! Compile once, run many times in fresh contexts (like node's vm.Script).
//! Run: cargo run -p sandvm --example script_reuse
use serde_json::json;

fn main() -> sandvm::Result<()> {
    let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    let rule = sandvm::Script::new("input.age >= 18 && input.country === 'NL'", "rule.js")?;
    let people =
        [json!({"age": 30, "country": "NL"}), json!({"age": 12, "country": "NL"}), json!({"age": 40, "country": "BE"})];
    let mut verdicts = Vec::new();
    for person in &people {
        let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
        ctx.set_global("input", person)?;
        verdicts.push(rule.run_in(&ctx)?.value);
    }
    println!("{verdicts:?}");
    assert_eq!(verdicts, vec![Some(json!(true)), Some(json!(false)), Some(json!(false))]);
    Ok(())
}
