//! Frozen intrinsics (SES-style lockdown): prototype pollution has no effect.
//! Run: cargo run -p sandvm --example freeze
use serde_json::json;

fn main() -> sandvm::Result<()> {
    let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default().freeze_intrinsics(true))?;
    let done =
        ctx.eval("Object.prototype.isAdmin = true; Array.prototype.map = null; [({}).isAdmin, typeof [].map]")?;
    println!("{}", done.display);
    assert_eq!(done.value, Some(json!([null, "function"])));
    Ok(())
}
