//! Compile a function from parameters and a body (like node's vm.compileFunction) and call it.
//! Run: cargo run -p sandvm --example compile_function
use serde_json::json;

fn main() -> sandvm::Result<()> {
    let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    let discount = ctx.compile_function(&["price", "customer"], "return customer.vip ? price * 0.9 : price")?;
    let a = ctx.call_function(&discount, &[json!(100), json!({"vip": true})])?;
    let b = ctx.call_function(&discount, &[json!(100), json!({"vip": false})])?;
    println!("{} {}", a.display, b.display);
    assert_eq!((a.value, b.value), (Some(json!(90)), Some(json!(100))));
    Ok(())
}
