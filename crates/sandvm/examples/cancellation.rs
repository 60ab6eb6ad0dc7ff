//! Cancel a running guest from another thread.
//! Run: cargo run -p sandvm --example cancellation
use std::time::Duration;

fn main() -> sandvm::Result<()> {
    let rt = sandvm::Runtime::new(sandvm::Limits { timeout: None, ..Default::default() })?;
    let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    let handle = rt.cancel_handle();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.cancel();
    });
    let r = ctx.eval("for (;;) {}");
    println!("-> {:?}", r.as_ref().err());
    assert_eq!(r, Err(sandvm::Error::Cancelled));
    canceller.join().expect("canceller thread");
    Ok(())
}
