//! ES modules and CommonJS under a deny-by-default policy: an in-memory module map, a
//! synthetic host module, and a refused import.
//! Run: cargo run -p sandvm --example modules
use sandvm::{ContextOptions, Error, HostModule, KvStore, ModuleConfig};
use serde_json::json;

fn main() -> sandvm::Result<()> {
    let store = KvStore::new();
    let modules = ModuleConfig::new()
        .module("lib/prices.js", "export const vat = (n) => Math.round(n * 1.21 * 100) / 100;")
        .module("lib/legacy.js", "module.exports = { shout: (s) => s.toUpperCase() };")
        .host_module("sandvm:crypto", HostModule::crypto())
        .host_module("sandvm:kv", HostModule::kv(store.clone()))
        .allow("sandvm:*");
    let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    let ctx = sandvm::Context::new(&rt, ContextOptions::default().modules(modules))?;
    let done = ctx.run_module(
        "import { vat } from 'lib/prices.js';
         import { sha256 } from 'sandvm:crypto';
         import * as kv from 'sandvm:kv';
         kv.set('last', vat(100));
         export const gross = vat(100);
         export const id = sha256('order-1').slice(0, 8);",
        "main.mjs",
    )?;
    println!("exports: {}", done.display);
    assert_eq!(done.value, Some(json!({"gross": 121, "id": "0bafe221"})));
    assert_eq!(store.get("last"), Some(json!(121)));
    assert_eq!(ctx.eval("require('lib/legacy.js').shout('hi')")?.value, Some(json!("HI")));
    let refused = ctx.run_module("import fs from 'node:fs';", "evil.mjs");
    println!("refused: {:?}", refused.as_ref().err());
    assert!(matches!(refused, Err(Error::ModuleNotAllowed { .. })));
    Ok(())
}
