//! A memory bomb hits the runtime's heap limit; the runtime is replaced transparently.
//! Run: cargo run -p sandvm --example memory_limit
fn main() -> sandvm::Result<()> {
    let limits = sandvm::Limits { memory: 16 * 1024 * 1024, ..Default::default() };
    let rt = sandvm::Runtime::new(limits)?;
    let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    let r = ctx.eval("const a = []; for (;;) a.push(new Array(1000).fill('x'))");
    println!("memory bomb -> {:?}", r.as_ref().err());
    assert_eq!(r, Err(sandvm::Error::MemoryLimit));
    let ok = ctx.eval("[1, 2, 3].length")?;
    println!("next run -> {} (engine generation {}, heap {} bytes)", ok.display, rt.generation(), rt.heap_used());
    assert_eq!(rt.generation(), 1);
    Ok(())
}
