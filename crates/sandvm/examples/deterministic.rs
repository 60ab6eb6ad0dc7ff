//! Deterministic mode: seeded Math.random, a host-chosen clock, UTC dates.
//! Run: cargo run -p sandvm --example deterministic
fn main() -> sandvm::Result<()> {
    let det = sandvm::Deterministic { seed: 2024, clock: sandvm::Clock::Fixed(1_700_000_000_000.0) };
    let run = || -> sandvm::Result<String> {
        let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
        let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default().deterministic(Some(det.clone())))?;
        Ok(ctx.eval("[Math.random().toFixed(6), new Date().toString()].join(' | ')")?.display)
    };
    let (a, b) = (run()?, run()?);
    println!("{a}");
    assert_eq!(a, b);
    Ok(())
}
