//! Target 7: the module specifier resolver and its policy (`sandvm::ModuleConfig`). The
//! resolver itself is private; this target drives it through its public entry points,
//! `Context::run_module` (static `import` and dynamic `import()`) and CommonJS `require` in
//! `Context::eval`, with an arbitrary specifier imported from one of several importer names.
//! The policy: an in-memory map (`lib/a.js`, `lib/b.js`), a directory root holding `ok.js` and
//! `sub/inner.js` plus a symlink to a file *outside* the root, the allowed host module
//! `sandvm:crypto`, and `sandvm:kv`, registered but not allowed. What must hold: nothing
//! outside the root is ever loaded (its marker `LEAK` never reaches the guest), `sandvm:kv` is
//! never reachable, and every refusal is a typed error, never a crash.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sandvm::{Context, ContextOptions, Error, HostModule, KvStore, Limits, ModuleConfig, Runtime};

const IMPORTERS: &[&str] = &["main.mjs", "lib/main.mjs", "sub/x.mjs", "sub/deeper/y.mjs", "sandvm:crypto", ""];

/// The module root (with an escaping symlink) made once per process under the temp dir.
fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("sandvm-fuzz-modules-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).expect("module root");
        std::fs::write(base.join("secret.js"), "export const v = 'LEAK'; module.exports = 'LEAK';").expect("secret");
        std::fs::write(root.join("ok.js"), "export const v = 'ROOT';").expect("ok.js");
        std::fs::write(root.join("sub/inner.js"), "export const v = 'INNER';").expect("inner.js");
        let _ = std::os::unix::fs::symlink(base.join("secret.js"), root.join("link.js"));
        let _ = std::os::unix::fs::symlink(&base, root.join("up"));
        root
    })
}

fn modules() -> ModuleConfig {
    ModuleConfig::new()
        .root(root())
        .expect("module root")
        .module("lib/a.js", "export const v = 'MEM';")
        .module("lib/b.js", "export { v } from './a.js';")
        .module("lib/cjs.js", "module.exports = { v: 'CJS' };")
        .host_module("sandvm:crypto", HostModule::crypto())
        .host_module("sandvm:kv", HostModule::kv(KvStore::new()))
        .allow("sandvm:crypto")
        .max_modules(20)
}

fuzz_target!(|data: &[u8]| {
    let [which, form, spec @ ..] = data else { return };
    let Ok(spec) = std::str::from_utf8(spec) else { return };
    let importer = IMPORTERS[usize::from(*which) % IMPORTERS.len()];
    let lit = serde_json::to_string(spec).expect("a string serialises");
    let limits = Limits { timeout: Some(Duration::from_millis(200)), memory: 16 << 20, ..Default::default() };
    let rt = Runtime::new(limits).expect("runtime");
    let ctx = Context::new(&rt, ContextOptions::default().modules(modules())).expect("context");
    let out = match form % 3 {
        0 => ctx.run_module(
            &format!("import * as m from {lit}; export const keys = Object.keys(m).join(); export const v = m.v ?? null;"),
            importer,
        ),
        1 => ctx.run_module(
            &format!("const m = await import({lit}); export const keys = Object.keys(m).join(); export const v = m.v ?? null;"),
            importer,
        ),
        _ => ctx.eval(&format!("const m = require({lit}); JSON.stringify({{ keys: Object.keys(m ?? {{}}).join(), v: m }})")),
    };
    match out {
        Ok(done) => {
            let value = done.value.unwrap_or_default();
            // `require` hands back a JSON string; the modules hand back their namespace.
            let value = match value.as_str() {
                Some(s) => serde_json::from_str(s).unwrap_or(value),
                None => value,
            };
            let text = value.to_string();
            assert!(!text.contains("LEAK"), "a file outside the module root was loaded by {spec:?}: {text}");
            let keys = value["keys"].as_str().unwrap_or_default();
            assert!(!keys.split(',').any(|k| k == "has"), "sandvm:kv (not allowed) was imported by {spec:?}: {text}");
        }
        Err(Error::ModuleNotAllowed { .. } | Error::ModuleNotFound { .. }) => {}
        Err(e) => {
            // A guest exception (a caught refusal surfaces as a plain error) or a limit.
            let text = e.to_string();
            assert!(!text.contains("LEAK"), "a file outside the module root was loaded by {spec:?}: {text}");
        }
    }
});
