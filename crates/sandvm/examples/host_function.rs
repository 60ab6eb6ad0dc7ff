//! Expose a Rust function to guest code with typed arguments; errors and panics become guest
//! exceptions.
//! Run: cargo run -p sandvm --example host_function
use serde_json::json;

fn main() -> sandvm::Result<()> {
    let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    ctx.register_fn("convert", |(amount, currency): (f64, String)| match currency.as_str() {
        "EUR" => Ok(amount),
        "USD" => Ok(amount * 0.92),
        other => Err(format!("unknown currency {other}")),
    })?;
    let done = ctx
        .eval("[convert(100, 'USD'), (() => { try { return convert(1, 'XXX') } catch (e) { return e.message } })()]")?;
    println!("{}", done.display);
    assert_eq!(done.value, Some(json!([92, "unknown currency XXX"])));
    Ok(())
}
