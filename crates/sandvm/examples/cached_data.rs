//! Authenticated cached data: reuse compiled bytecode, reject anything tampered with.
//! Run: cargo run -p sandvm --example cached_data
fn main() -> sandvm::Result<()> {
    let source = "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) } fib(20)";
    // A secret key kept by the host (use CacheKey::random() once and store it safely).
    let key = sandvm::CacheKey::new(*b"0123456789abcdef0123456789abcdef");
    let data = sandvm::Script::new(source, "fib.js")?.cached_data_with(&key);
    println!("cached data: {} bytes", data.len());

    let script = sandvm::Script::with_cached_data_keyed(source, &data, &key)?;
    let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    assert_eq!(script.run_in(&ctx)?.display, "6765");

    let mut tampered = data.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 1;
    let rejected = sandvm::Script::with_cached_data_keyed(source, &tampered, &key);
    println!("tampered -> {:?}", rejected.as_ref().err());
    assert!(matches!(rejected, Err(sandvm::Error::CachedDataRejected(_))));
    Ok(())
}
