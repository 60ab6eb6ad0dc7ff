//! Evaluate an untrusted expression with data passed in as a copy.
//! Run: cargo run -p sandvm --example safe_eval
use serde_json::json;

fn main() -> sandvm::Result<()> {
    let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    ctx.set_global("order", &json!({"items": [{"price": 9.5, "qty": 2}, {"price": 1, "qty": 3}]}))?;
    // A formula typed by a customer:
    let total = ctx.eval("order.items.reduce((sum, i) => sum + i.price * i.qty, 0)")?;
    println!("total = {}", total.display);
    assert_eq!(total.value, Some(json!(22)));
    // The sandbox has no ambient capabilities:
    let probe = ctx.eval("[typeof process, typeof require, typeof fetch]")?;
    println!("capabilities: {}", probe.display);
    assert_eq!(probe.value, Some(json!(["undefined", "undefined", "undefined"])));
    Ok(())
}
