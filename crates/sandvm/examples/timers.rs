//! The timers pack: setTimeout/setInterval run inside the run's time budget.
//! Run: cargo run -p sandvm --example timers
use serde_json::json;

fn main() -> sandvm::Result<()> {
    let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    let opts = sandvm::ContextOptions::default().capabilities(sandvm::Capabilities::none().timers(true));
    let ctx = sandvm::Context::new(&rt, opts)?;
    let done = ctx.eval(
        "const ticks = []; const h = setInterval(() => { ticks.push(ticks.length); if (ticks.length === 3) clearInterval(h) }, 5);
         new Promise((resolve) => setTimeout(() => resolve(ticks), 40))",
    )?;
    println!("ticks: {}", done.display);
    assert_eq!(done.value, Some(json!([0, 1, 2])));
    // An interval nobody clears cannot outlive the run: it ends at the timeout.
    rt.set_limits(sandvm::Limits { timeout: Some(std::time::Duration::from_millis(50)), ..Default::default() });
    assert_eq!(ctx.eval("setInterval(() => {}, 1)"), Err(sandvm::Error::Timeout));
    Ok(())
}
