//! Timeouts cover loops, promise jobs and async functions; the context is usable afterwards.
//! Run: cargo run -p sandvm --example timeout
use std::time::{Duration, Instant};

fn main() -> sandvm::Result<()> {
    let limits = sandvm::Limits { timeout: Some(Duration::from_millis(50)), ..Default::default() };
    let rt = sandvm::Runtime::new(limits)?;
    let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    for src in ["while (true) {}", "(async () => { for (;;) await null })()"] {
        let t = Instant::now();
        let r = ctx.eval(src);
        println!("{src:40} -> {:?} after {:?}", r.as_ref().err(), t.elapsed());
        assert_eq!(r, Err(sandvm::Error::Timeout));
    }
    assert_eq!(ctx.eval("'still fine'")?.display, "'still fine'");
    Ok(())
}
