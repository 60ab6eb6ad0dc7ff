//! One bounded guest executor: a guest thread that owns a runtime and a context, shared by
//! several submitting threads, with deadlines that hold even when the guest is stuck in a
//! builtin the engine cannot interrupt.
//! Run: cargo run -p sandvm --example executor
use std::time::{Duration, Instant};

use sandvm::{Context, ContextOptions, Error, Executor, ExecutorConfig, Limits, Runtime};

fn main() -> sandvm::Result<()> {
    // The setup runs on the guest thread, and again on a replacement thread.
    let exec = Executor::new(ExecutorConfig::default(), || {
        let limits = Limits { timeout: Some(Duration::from_millis(100)), ..Default::default() };
        let ctx = Context::new(&Runtime::new(limits)?, ContextOptions::default())?;
        ctx.set_global("greeting", &serde_json::json!("hello"))?;
        Ok(ctx)
    })?;

    // Jobs from several threads run one at a time on the guest thread.
    let workers: Vec<_> = (1..=4)
        .map(|n| {
            let exec = exec.clone();
            std::thread::spawn(move || exec.run(None, move |ctx| ctx.eval(&format!("greeting + ' ' + {n} ** 2"))))
        })
        .collect();
    for w in workers {
        let out = w.join().map_err(|_| Error::Host("a submitter panicked".into()))???;
        println!("-> {}", out.display);
    }

    // The runtime's interrupt ends ordinary runaway code at its deadline.
    let spin = exec.run(None, |ctx| ctx.eval("for (;;) {}").map(|c| c.display))?;
    println!("-> {spin:?}");
    assert_eq!(spin, Err(Error::Timeout));

    // A job that never yields to the engine (here: blocked in host code) is abandoned at its
    // deadline plus sandvm::grace_for(timeout); the next job runs on a fresh thread.
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let t = Instant::now();
    let stuck = exec.run(Some(Duration::from_millis(20)), move |_| blocked.recv().is_ok());
    println!("-> {stuck:?} after {:?}, replaced {} time(s)", t.elapsed(), exec.replaced());
    assert_eq!(stuck, Err(Error::Timeout));
    drop(release);
    let after = exec.run(None, |ctx| ctx.eval("greeting").map(|c| c.display))??;
    println!("-> {after}");
    assert_eq!(after, "'hello'");
    Ok(())
}
