//! Hostile module specifiers, module-root races, host stores and host recursion depth.

mod common;

use common::*;
use sandvm::{ContextOptions, Error, HostModule, KvStore, ModuleConfig};
use serde_json::{json, Value as Json};

fn mctx(modules: ModuleConfig) -> sandvm::Context {
    ctx_with(limits_ms(5000), ContextOptions::default().modules(modules))
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sandvm-modh-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `f` on a thread with a 2 MiB stack: host recursion proportional to a hostile depth
/// would overflow it (an abort of the whole test binary), a bounded one does not.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 * 1024 * 1024).spawn(f).unwrap().join().unwrap()
}

/// The error a guest sees from an ES import, a dynamic import and a require of `spec`:
/// `[name, specifier]` each.
fn refusals(c: &sandvm::Context, spec: &str) -> Json {
    let lit = serde_json::to_string(spec).unwrap();
    let src = format!(
        "(async () => {{ const out = []; \
           try {{ await import({lit}); out.push('loaded'); }} catch (e) {{ out.push(e.name); }} \
           try {{ require({lit}); out.push('loaded'); }} catch (e) {{ out.push(e.name); }} \
           return out; }})()"
    );
    value(c, &src)
}

#[test]
fn host_modules_only_by_their_exact_allow_listed_name() {
    let root = tempdir("exact");
    std::fs::write(root.join("ok.js"), "globalThis.okLoaded = (globalThis.okLoaded || 0) + 1;").unwrap();
    let store = KvStore::new();
    store.set("secret", json!("host data")).unwrap();
    let cfg = ModuleConfig::new()
        .root(&root)
        .unwrap()
        .host_module("sandvm:kv", HostModule::kv(store.clone()))
        .host_module("sandvm:crypto", HostModule::crypto())
        .allow("sandvm:crypto");
    let c = mctx(cfg);
    // The non-allow-listed host module is refused under its own name and every disguise.
    let cases = [
        ("sandvm:kv", "ModuleNotAllowed"),
        ("./sandvm:kv", "ModuleNotAllowed"),
        ("./x/../sandvm:kv", "ModuleNotAllowed"),
        ("sandvm:kv/../x", "ModuleNotFound"),
        ("SANDVM:KV", "ModuleNotFound"),
        ("sandvm:kv?x", "ModuleNotFound"),
        ("sandvm:kv#x", "ModuleNotFound"),
        ("sandvm%3Akv", "ModuleNotFound"),
        ("./sandvm%3Akv", "ModuleNotFound"),
        ("\u{0455}andvm:kv", "ModuleNotFound"),
        ("sandvm\u{ff1a}kv", "ModuleNotFound"),
        (" sandvm:kv", "ModuleNotFound"),
        ("node:sandvm:kv", "ModuleNotAllowed"),
        ("file:sandvm:kv", "ModuleNotAllowed"),
        ("file:///sandvm:kv", "ModuleNotAllowed"),
        ("./sandvm:crypto", "ModuleNotAllowed"),
        // The allow-listed name followed by a NUL and anything: not cut down to it.
        ("sandvm:crypto\0", "ModuleNotAllowed"),
        ("sandvm:crypto\0/../sandvm:kv", "ModuleNotAllowed"),
    ];
    for (spec, name) in cases {
        assert_eq!(refusals(&c, spec), json!([name, name]), "{spec:?}");
    }
    // The allow-listed one by its exact name, and relative files under the root, still work.
    assert_eq!(value(&c, "typeof require('sandvm:crypto').sha256"), json!("function"));
    assert_eq!(value(&c, "require('./ok.js'); okLoaded"), json!(1));
    // A static import of a disguise fails the run with the typed error.
    let err = c.run_module("import { get } from './sandvm:kv'; export const v = get('secret');", "m.mjs").unwrap_err();
    assert!(matches!(&err, Error::ModuleNotAllowed { specifier, .. } if specifier == "./sandvm:kv"), "{err:?}");
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn specifiers_with_nul_are_refused_before_the_engine_cuts_them() {
    let root = tempdir("nul");
    std::fs::write(root.join("ok.js"), "globalThis.okLoaded = (globalThis.okLoaded || 0) + 1;").unwrap();
    let c = mctx(ModuleConfig::new().root(&root).unwrap());
    // Control: the prefix alone loads (once as an ES module, once through require).
    assert_eq!(refusals(&c, "./ok.js"), json!(["loaded", "loaded"]));
    assert_eq!(value(&c, "okLoaded"), json!(2));
    for spec in ["./ok.js\0/../../etc/passwd", "./ok.js\0x", "./ok.js\0\u{e9}", "./ok.js\0\u{1F600}", "\0"] {
        assert_eq!(refusals(&c, spec), json!(["ModuleNotAllowed", "ModuleNotAllowed"]), "{spec:?}");
    }
    // The specifier built at run time, so no source scan could see it.
    assert_eq!(
        value(&c, "(async () => { try { await import('./ok.js' + String.fromCharCode(0) + 'x') } catch (e) { return e.name } })()"),
        json!("ModuleNotAllowed")
    );
    // Static imports, with the NUL written as an escape and as a raw character.
    for src in
        ["import { ok } from './ok.js\\0x';", "import { ok } from './ok.js\\u0000/../x';", "import './ok.js\0x';"]
    {
        let err = c.run_module(src, "m.mjs").unwrap_err();
        assert_eq!(err.kind(), "module_not_allowed", "{src:?}: {err:?}");
    }
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn no_symlink_under_the_root_is_followed_even_if_it_was_fine_at_configuration() {
    let root = tempdir("links");
    let outside = tempdir("links-out");
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::fs::write(root.join("lib/real.mjs"), "export const v = 'inside';").unwrap();
    std::fs::write(outside.join("secret.mjs"), "export const v = 'leaked';").unwrap();
    // Points inside when the root is configured ...
    std::os::unix::fs::symlink(root.join("lib/real.mjs"), root.join("lib/swap.mjs")).unwrap();
    std::os::unix::fs::symlink(root.join("lib"), root.join("libdir")).unwrap();
    std::os::unix::fs::symlink(root.join("loop"), root.join("loop")).unwrap();
    let c = mctx(ModuleConfig::new().root(&root).unwrap());
    let run = |src: &str| c.run_module(src, "main.mjs");
    assert_eq!(run("export { v } from './lib/real.mjs';").unwrap().value, Some(json!({"v": "inside"})));
    // ... and is refused anyway: links are not followed at all, inside or out.
    assert_eq!(run("export { v } from './lib/swap.mjs';").unwrap_err().kind(), "module_not_allowed");
    assert_eq!(run("export { v } from './libdir/real.mjs';").unwrap_err().kind(), "module_not_allowed");
    // ... then swapped to point outside: still refused, never read.
    std::fs::remove_file(root.join("lib/swap.mjs")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.mjs"), root.join("lib/swap.mjs")).unwrap();
    std::fs::remove_file(root.join("libdir")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("libdir")).unwrap();
    for spec in ["./lib/swap.mjs", "./libdir/secret.mjs", "./loop", "./loop/x.mjs"] {
        let err = run(&format!("export {{ v }} from '{spec}';")).unwrap_err();
        let resolved = spec.trim_start_matches("./");
        assert!(matches!(&err, Error::ModuleNotAllowed { specifier, .. } if specifier == resolved), "{spec}: {err:?}");
    }
    assert_eq!(refusals(&c, "./lib/swap.mjs"), json!(["ModuleNotAllowed", "ModuleNotAllowed"]));
    std::fs::remove_dir_all(&root).ok();
    std::fs::remove_dir_all(&outside).ok();
}

#[test]
fn a_fifo_under_the_root_is_refused_without_blocking() {
    let root = tempdir("fifo");
    let path = std::ffi::CString::new(root.join("pipe.mjs").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(path.as_ptr(), 0o600) } != 0 {
        eprintln!("skipping: mkfifo is not available here");
        return;
    }
    let c = mctx(ModuleConfig::new().root(&root).unwrap());
    let err = c.run_module("import './pipe.mjs';", "main.mjs").unwrap_err();
    assert_eq!(err.kind(), "module_not_found", "{err:?}");
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn kv_store_is_capped_in_entries_and_bytes_and_counted_in_stats() {
    let store = KvStore::new().max_entries(3).max_bytes(100);
    let c = mctx(ModuleConfig::new().host_module("sandvm:kv", HostModule::kv(store.clone())).allow("sandvm:kv"));
    let run = |src: &str| value(&c, src);
    assert_eq!(
        run("const kv = require('sandvm:kv'); kv.set('a', 1); kv.set('b', 2); kv.set('c', 3); kv.keys()"),
        json!(["a", "b", "c"])
    );
    assert_eq!(c.stats().host_bytes, 6);
    assert_eq!(store.bytes(), 6);
    // A fourth key: a RangeError naming the cap; replacing an existing key is fine.
    assert_eq!(
        run("try { require('sandvm:kv').set('d', 4); 'stored' } catch (e) { [e.name, e.message] }"),
        json!(["RangeError", "set: sandvm:kv is full: at most 3 entries"])
    );
    assert_eq!(run("require('sandvm:kv').set('a', 'x'.repeat(10)); require('sandvm:kv').get('a').length"), json!(10));
    assert_eq!(store.bytes(), 1 + 12 + 2 + 2);
    // Bytes: a value that would pass 100 bytes is refused and leaves the store unchanged.
    assert_eq!(
        run("try { require('sandvm:kv').set('b', 'y'.repeat(200)); 'stored' } catch (e) { e.name }"),
        json!("RangeError")
    );
    assert_eq!(store.get("b"), Some(json!(2)));
    assert_eq!(store.bytes(), 17);
    assert!(matches!(store.try_set("zz", json!(1)), Err(Error::StoreFull { .. })));
    assert_eq!(store.try_set("zz", json!(1)).unwrap_err().kind(), "store_full");
    // Deleting frees both entries and bytes.
    assert_eq!(run("require('sandvm:kv').delete('a')"), json!(true));
    assert_eq!(store.bytes(), 4);
    assert_eq!(c.stats().host_bytes, 4);
    assert_eq!(run("require('sandvm:kv').set('d', 4); require('sandvm:kv').keys().length"), json!(3));
    // A non-string key is a TypeError.
    assert_eq!(run("try { require('sandvm:kv').get(1) } catch (e) { e.name }"), json!("TypeError"));
}

#[test]
fn kv_store_default_caps_stop_a_filling_guest() {
    assert_eq!((sandvm::KV_DEFAULT_MAX_ENTRIES, sandvm::KV_DEFAULT_MAX_BYTES), (10_000, 16 * 1024 * 1024));
    let store = KvStore::new();
    let c = mctx(ModuleConfig::new().host_module("sandvm:kv", HostModule::kv(store.clone())).allow("sandvm:kv"));
    // 1 MiB values under fresh keys: the byte cap stops it after 15 of them.
    let done = value(
        &c,
        "const kv = require('sandvm:kv'); const big = 'x'.repeat(1 << 20); let n = 0; \
         try { for (;;) { kv.set('k' + n, big); n++; } } catch (e) { [n, e.name] }",
    );
    assert_eq!(done, json!([15, "RangeError"]));
    assert!(store.bytes() <= sandvm::KV_DEFAULT_MAX_BYTES);
    assert_eq!(c.stats().host_bytes, store.bytes());
    // Tiny values: the entry cap stops it at 10,000.
    let small = KvStore::new();
    let c = mctx(ModuleConfig::new().host_module("sandvm:kv", HostModule::kv(small.clone())).allow("sandvm:kv"));
    let done = value(&c, "const kv = require('sandvm:kv'); let n = 0; try { for (;;) kv.set('k' + n++, 0); } catch (e) { [n - 1, e.name] }");
    assert_eq!(done, json!([10_000, "RangeError"]));
    assert_eq!(small.len(), 10_000);
}

/// An array nested `depth` deep, built without recursion.
fn nested(depth: usize) -> Json {
    let mut v = json!(0);
    for _ in 0..depth {
        v = Json::Array(vec![v]);
    }
    v
}

/// Takes a deep value apart without recursion (its own `Drop` would recurse).
fn dismantle(mut v: Json) {
    while let Json::Array(mut a) = v {
        v = a.pop().unwrap_or(Json::Null);
    }
}

#[test]
fn deep_host_json_is_refused_with_a_typed_error() {
    on_small_stack(|| {
        let c = ctx();
        let deep = nested(100_000);
        assert!(matches!(c.set_global("deep", &deep), Err(Error::TooDeep { max: 128 })));
        dismantle(deep);
        // At the cap it is copied in whole.
        let ok = nested(sandvm::MAX_JSON_DEPTH);
        c.set_global("ok", &ok).unwrap();
        assert_eq!(value(&c, "let d = 0, x = ok; while (Array.isArray(x)) { x = x[0]; d++; } d"), json!(128));
        // A host function returning a deep value gives the guest a RangeError.
        c.register_fn("deep", |(): ()| Ok::<_, String>(nested(sandvm::MAX_JSON_DEPTH + 1))).unwrap();
        assert_eq!(value(&c, "try { deep(); 'copied' } catch (e) { e.name }"), json!("RangeError"));
    });
}

#[test]
fn deep_guest_values_convert_and_inspect_without_host_recursion() {
    on_small_stack(|| {
        let c = ctx();
        // 100,000 levels: the completion value has no JSON form, its rendering is truncated.
        let done = c.eval("let a = []; for (let i = 0; i < 1e5; i++) a = [a]; a").unwrap();
        assert_eq!(done.value, None);
        assert!(done.display.contains("[Array]"), "{}", done.display);
        let done = c.eval("let o = {}; for (let i = 0; i < 1e5; i++) o = { o }; o").unwrap();
        assert_eq!(done.value, None);
        assert!(done.display.contains("[Object]"), "{}", done.display);
        // Circular and deep: console.log and console.dir stay bounded too.
        c.eval("const cyc = { a: [] }; cyc.a.push(cyc); console.log(cyc, a); console.dir(o, { depth: 1e9 })").unwrap();
        let out = c.take_console();
        assert!(out[0].text.contains("[Circular *1]"), "{}", out[0].text);
        // Deep arguments to a host function: a typed guest error (the engine's bounded
        // JSON.stringify), not a host overflow; 200 levels pass the engine but not the host cap.
        c.register_fn("echo", |v: Vec<Json>| Ok::<_, String>(v.len())).unwrap();
        assert_eq!(value(&c, "try { echo(a) } catch (e) { e.name }"), json!("RangeError"));
        assert_eq!(
            value(&c, "let b = []; for (let i = 0; i < 200; i++) b = [b]; try { echo(b) } catch (e) { e.name }"),
            json!("TypeError")
        );
        // 100 levels is within every cap and round-trips exactly.
        let done = c.eval("let s = []; for (let i = 0; i < 100; i++) s = [s]; s").unwrap();
        let mut v = done.value.unwrap();
        let mut d = 0;
        while let Json::Array(mut inner) = v {
            v = inner.pop().unwrap_or(Json::Null);
            d += 1;
        }
        assert_eq!(d, 101);
    });
}

#[test]
fn console_lines_held_on_the_host_are_bounded_by_max_output() {
    let c = ctx_with(sandvm::Limits { max_output: 1000, ..limits_ms(5000) }, ContextOptions::default());
    // Empty lines cost one byte each (the newline): the flood stops at exactly 1,000 lines.
    assert!(matches!(c.eval("for (;;) console.log()"), Err(Error::OutputLimit)));
    let lines = c.take_console();
    assert_eq!(lines.len(), 1000);
    assert!(lines.iter().all(|l| l.text.is_empty()));
    // Catching the error does not let the guest go on filling it.
    assert!(matches!(
        c.eval("try { for (;;) console.log('x') } catch (e) {} for (;;) console.log('y')"),
        Err(Error::OutputLimit)
    ));
    assert_eq!(c.take_console().len(), 500);
}

#[test]
fn deep_error_cause_chains_and_lazy_depth_stay_bounded() {
    on_small_stack(|| {
        let c = ctx();
        // An uncaught error whose cause chain is 100,000 long: a typed exception.
        let err = c.eval("let e = new Error('root'); for (let i = 0; i < 1e5; i++) e = new Error('e' + i, { cause: e }); throw e").unwrap_err();
        assert!(
            matches!(&err, Error::Exception { name: Some(n), message, .. } if n == "Error" && message == "e99999"),
            "{err:?}"
        );
        // An object that is infinitely deep through a getter: no JSON form, a truncated rendering.
        let done = c.eval("const deep = { get next() { return { deep, next: this } } }; deep").unwrap();
        assert_eq!(done.display, "{ next: [Getter] }");
        let done = c.eval("const p = new Proxy({}, { get: (t, k) => k === 'toJSON' ? undefined : p, ownKeys: () => ['a'], getOwnPropertyDescriptor: () => ({ value: p, enumerable: true, configurable: true }) }); p").unwrap();
        assert_eq!(done.value, None);
        c.eval("console.log(p, deep)").unwrap();
        assert_eq!(c.take_console().len(), 1);
    });
}
