//! The fetch pack: the guest's fetch() is answered by a host callback that decides what is
//! reachable (here: one fake API; everything else is refused).
//! Run: cargo run -p sandvm --example fetch
use std::sync::Arc;

use sandvm::{Capabilities, FetchRequest, FetchResponse};
use serde_json::json;

fn main() -> sandvm::Result<()> {
    let handler: sandvm::FetchHandler = Arc::new(|req: FetchRequest| {
        if req.url == "https://api.example/rates" {
            Ok(FetchResponse { status: 200, headers: vec![], body: json!({"EUR": 1, "USD": 1.08}).to_string() })
        } else {
            Err(format!("{} is not on the allow-list", req.url))
        }
    });
    let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    let ctx =
        sandvm::Context::new(&rt, sandvm::ContextOptions::default().capabilities(Capabilities::none().fetch(handler)))?;
    let done = ctx.eval(
        "(async () => {
           const rates = await (await fetch('https://api.example/rates')).json();
           const blocked = await fetch('http://169.254.169.254/latest/meta-data').then(() => 'reached!', (e) => e.message);
           return { usd: rates.USD, blocked };
         })()",
    )?;
    println!("{}", done.display);
    assert_eq!(done.value.as_ref().and_then(|v| v.get("usd")), Some(&json!(1.08)));
    Ok(())
}
