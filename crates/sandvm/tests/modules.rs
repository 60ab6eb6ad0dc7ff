//! Modules under an allow-list: ES modules, CommonJS, host modules, roots, bad input.

mod common;

use common::*;
use sandvm::{BytecodeCache, ContextOptions, Error, HostModule, KvStore, ModuleConfig};
use serde_json::json;

fn mctx(modules: ModuleConfig) -> sandvm::Context {
    ctx_with(limits_ms(5000), ContextOptions::default().modules(modules))
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sandvm-mod-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn run_module_returns_its_exports() {
    let c = mctx(ModuleConfig::new().module("math", "export const add = (a, b) => a + b; export default 'm';"));
    let done = c
        .run_module(
            "import { add } from 'math'; import m from 'math'; export const x = add(1, 2); export const name = m;",
            "main.mjs",
        )
        .unwrap();
    assert_eq!(done.value, Some(json!({"name": "m", "x": 3})));
    assert!(done.display.contains("x: 3"), "{}", done.display);
}

#[test]
fn top_level_await_in_modules() {
    let c = mctx(ModuleConfig::new().module("slow", "export const v = await Promise.resolve(41);"));
    let done =
        c.run_module("import { v } from 'slow'; export const w = await Promise.resolve(v + 1);", "main.mjs").unwrap();
    assert_eq!(done.value, Some(json!({"w": 42})));
    let c = ctx_with(limits_ms(100), ContextOptions::default().modules(ModuleConfig::new()));
    assert_eq!(c.run_module("await new Promise(() => {}); for (;;) {}", "m.mjs"), Err(Error::Unsettled));
    assert_eq!(c.run_module("for (;;) {}", "m.mjs"), Err(Error::Timeout));
}

#[test]
fn modules_are_denied_by_default() {
    let c = ctx();
    match c.run_module("import x from 'anything';", "main.mjs") {
        Err(Error::ModuleNotAllowed { specifier, .. }) => assert_eq!(specifier, "anything"),
        other => panic!("{other:?}"),
    }
    match c.eval("import('fs')") {
        Err(Error::ModuleNotAllowed { specifier, .. }) => assert_eq!(specifier, "fs"),
        other => panic!("{other:?}"),
    }
    assert_eq!(value(&c, "typeof require"), json!("undefined"));
}

#[test]
fn missing_and_denied_specifiers_are_typed() {
    let c =
        mctx(ModuleConfig::new().module("a", "export const a = 1;").host_module("sandvm:crypto", HostModule::crypto()));
    let cases = [
        ("import x from 'nope';", "nope", "module_not_found"),
        ("import x from '/etc/passwd';", "/etc/passwd", "module_not_allowed"),
        ("import x from 'file:///etc/passwd';", "file:///etc/passwd", "module_not_allowed"),
        ("import x from 'https://example.com/x.js';", "https://example.com/x.js", "module_not_allowed"),
        ("import x from '../../etc/passwd';", "../../etc/passwd", "module_not_allowed"),
        ("import { sha256 } from 'sandvm:crypto';", "sandvm:crypto", "module_not_allowed"),
        ("import x from 'sandvm:fs';", "sandvm:fs", "module_not_found"),
    ];
    for (src, spec, kind) in cases {
        let err = c.run_module(src, "main.mjs").unwrap_err();
        assert_eq!(err.kind(), kind, "{src}: {err:?}");
        match err {
            Error::ModuleNotFound { specifier, .. } | Error::ModuleNotAllowed { specifier, .. } => {
                assert_eq!(specifier, spec)
            }
            other => panic!("{other:?}"),
        }
    }
    // A missing export is a SyntaxError of the importing module (as in JS).
    match c.run_module("import { nope } from 'a';", "main.mjs") {
        Err(Error::Exception { name, message, .. }) => {
            assert_eq!(name.as_deref(), Some("SyntaxError"));
            assert!(message.contains("nope"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Dynamic import obeys the same policy and can be caught.
    assert_eq!(
        value(&c, "(async () => { try { await import('/etc/passwd') } catch (e) { return [e.name, e.specifier] } })()"),
        json!(["ModuleNotAllowed", "/etc/passwd"])
    );
}

#[test]
fn host_modules_when_allowed() {
    let store = KvStore::new();
    store.set("greeting", json!("hi")).unwrap();
    let c = mctx(
        ModuleConfig::new()
            .host_module("sandvm:crypto", HostModule::crypto())
            .host_module("sandvm:kv", HostModule::kv(store.clone()))
            .host_module(
                "app:config",
                HostModule::new()
                    .value("region", json!("eu"))
                    .function("twice", |a| Ok(json!(a.get(0).and_then(|v| v.as_f64()).unwrap_or(0.0) * 2.0))),
            )
            .allow("sandvm:*")
            .allow("app:config"),
    );
    let done = c
        .run_module(
            "import { sha256, randomUUID } from 'sandvm:crypto'; import * as kv from 'sandvm:kv'; import { region, twice } from 'app:config';
             kv.set('count', 3);
             export const hash = sha256('abc');
             export const uuidOk = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(randomUUID());
             export const greeting = kv.get('greeting');
             export const keys = kv.keys();
             export const cfg = [region, twice(21)];",
            "main.mjs",
        )
        .unwrap();
    assert_eq!(
        done.value,
        Some(json!({
            "cfg": ["eu", 42],
            "greeting": "hi",
            "hash": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "keys": ["count", "greeting"],
            "uuidOk": true
        }))
    );
    assert_eq!(store.get("count"), Some(json!(3)));
}

#[test]
fn commonjs_require_with_the_same_policy() {
    let c = mctx(
        ModuleConfig::new()
            .module("lib/util.js", "exports.double = x => x * 2; exports.me = __filename;")
            .module("lib/index.js", "const u = require('./util.js'); module.exports = { quad: x => u.double(u.double(x)), dir: __dirname };")
            .module("data.json", "{\"n\": 7}")
            .module("cycle/a.js", "exports.early = 'a'; const b = require('./b.js'); exports.fromB = b.seen;")
            .module("cycle/b.js", "const a = require('./a.js'); exports.seen = a.early;")
            .host_module("sandvm:crypto", HostModule::crypto())
            .allow("sandvm:crypto"),
    );
    assert_eq!(value(&c, "require('lib/index.js').quad(3)"), json!(12));
    assert_eq!(value(&c, "require('lib/index.js').dir"), json!("lib"));
    assert_eq!(value(&c, "require('lib/util.js') === require('lib/util.js')"), json!(true));
    assert_eq!(value(&c, "require('data.json').n"), json!(7));
    assert_eq!(value(&c, "require('cycle/a.js').fromB"), json!("a"));
    assert_eq!(value(&c, "require('sandvm:crypto').sha256('')").as_str().map(str::len), Some(64));
    assert_eq!(value(&c, "try { require('fs') } catch (e) { [e.name, e.specifier] }"), json!(["ModuleNotFound", "fs"]));
    assert_eq!(value(&c, "try { require('/etc/passwd') } catch (e) { e.name }"), json!("ModuleNotAllowed"));
    assert_eq!(value(&c, "try { require(42) } catch (e) { e.name }"), json!("TypeError"));
    let no_cjs = mctx(ModuleConfig::new().commonjs(false));
    assert_eq!(value(&no_cjs, "typeof require"), json!("undefined"));
}

#[test]
fn module_root_is_enforced() {
    let root = tempdir("root");
    let outside = tempdir("outside");
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::fs::write(root.join("lib/a.mjs"), "export const a = 'A';").unwrap();
    std::fs::write(root.join("lib/b.mjs"), "import { a } from './a.mjs'; export const b = a + 'B';").unwrap();
    std::fs::write(outside.join("secret.mjs"), "export const secret = 'leaked';").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.mjs"), root.join("lib/link.mjs")).unwrap();
    std::fs::write(root.join("bad.mjs"), [0x65, 0x78, 0xff, 0xfe]).unwrap();
    std::fs::create_dir_all(root.join("dir.mjs")).unwrap();
    let c = mctx(ModuleConfig::new().root(&root).unwrap());
    assert_eq!(c.run_module("export { b } from './lib/b.mjs';", "main.mjs").unwrap().value, Some(json!({"b": "AB"})));
    let kind = |src: &str| c.run_module(src, "main.mjs").unwrap_err().kind();
    assert_eq!(kind("import './lib/link.mjs';"), "module_not_allowed");
    assert_eq!(kind("import '../outside/secret.mjs';"), "module_not_allowed");
    assert_eq!(kind("import './bad.mjs';"), "module_not_allowed");
    assert_eq!(kind("import './missing.mjs';"), "module_not_found");
    assert_eq!(kind("import './dir.mjs';"), "module_not_found");
    assert_eq!(kind("import 'lib/a.mjs';"), "module_not_found");
    let missing = ModuleConfig::new().root(root.join("nope"));
    match &missing {
        Err(e @ Error::Io { source, .. }) => {
            assert_eq!(
                source.downcast_ref::<std::io::Error>().map(std::io::Error::kind),
                Some(std::io::ErrorKind::NotFound)
            );
            assert!(std::error::Error::source(e).is_some(), "an I/O error is the source");
            assert_eq!(e.kind(), "host");
        }
        other => panic!("expected Error::Io, got {other:?}"),
    }
    std::fs::remove_dir_all(&root).ok();
    std::fs::remove_dir_all(&outside).ok();
}

#[test]
fn cycles_throwing_modules_and_errors_with_positions() {
    let c = mctx(
        ModuleConfig::new()
            .module("a.js", "import { b } from './b.js'; export const a = 'a'; export const viaB = () => b;")
            .module("b.js", "import { a } from './a.js'; export const b = 'b'; export const viaA = () => a;")
            .module("boom.js", "export const x = 1;\nthrow new RangeError('boom at load');")
            .module("bad.js", "export const = ;"),
    );
    assert_eq!(
        c.run_module(
            "import { viaB } from 'a.js'; import { viaA } from 'b.js'; export const r = [viaB(), viaA()];",
            "main.mjs"
        )
        .unwrap()
        .value,
        Some(json!({"r": ["b", "a"]}))
    );
    match c.run_module("import 'boom.js';", "main.mjs") {
        Err(Error::Exception { name, message, stack, line, .. }) => {
            assert_eq!(name.as_deref(), Some("RangeError"));
            assert_eq!(message, "boom at load");
            assert!(stack.unwrap_or_default().contains("boom.js:2"));
            assert_eq!(line, Some(2));
        }
        other => panic!("{other:?}"),
    }
    // A syntax error inside an imported module names that module.
    match c.run_module("import 'bad.js';", "main.mjs") {
        Err(Error::Syntax { message, line, column, .. }) => {
            assert!(message.contains("in module 'bad.js'"), "{message}");
            assert_eq!((line, column), (Some(1), Some(14)));
        }
        other => panic!("{other:?}"),
    }
    match c.run_module("export const = 1;", "entry.mjs") {
        Err(Error::Syntax { line, .. }) => assert_eq!(line, Some(1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_and_self_importing_modules() {
    let big = format!("export const s = '{}';", "x".repeat(50 * 1024 * 1024));
    let c = mctx(ModuleConfig::new().module("big.js", &big));
    assert_eq!(c.run_module("import { s } from 'big.js';", "main.mjs").unwrap_err().kind(), "module_not_allowed");
    // A module that imports itself through 10,000 different specifiers: one module, correct JS.
    let mut src = String::new();
    for i in 0..10_000 {
        src.push_str(&format!("import * as m{i} from './{}self.js';\n", "./".repeat(i % 7)));
    }
    src.push_str("export const ok = typeof m9999 === 'object' && m0 === m9999;");
    let c = mctx(ModuleConfig::new().module("self.js", &src));
    assert_eq!(c.run_module("export { ok } from 'self.js';", "main.mjs").unwrap().value, Some(json!({"ok": true})));
    // Too many distinct modules: a typed refusal.
    let mut cfg = ModuleConfig::new().max_modules(50);
    let mut entry = String::new();
    for i in 0..100 {
        cfg = cfg.module(&format!("m{i}.js"), "export default 1;");
        entry.push_str(&format!("import './m{i}.js';\n"));
    }
    assert_eq!(mctx(cfg).run_module(&entry, "main.mjs").unwrap_err().kind(), "module_not_allowed");
}

#[test]
fn bytecode_cache_for_modules() {
    let cache = BytecodeCache::in_memory();
    let cfg = ModuleConfig::new().module("lib.js", "export const v = 5;").cache(cache.clone());
    for _ in 0..3 {
        let c = mctx(cfg.clone());
        assert_eq!(c.run_module("export { v } from 'lib.js';", "main.mjs").unwrap().value, Some(json!({"v": 5})));
    }
    let s = cache.stats();
    assert_eq!((s.misses, s.hits), (1, 2), "{s:?}");
}

#[test]
fn disk_cache_rejects_tampered_entries() {
    let dir = tempdir("cache");
    let cache = BytecodeCache::on_disk_with_key_file(&dir).unwrap();
    let script = cache.script("6 * 7", sandvm::ScriptOptions::default()).unwrap();
    assert_eq!(ctx().run(&script).unwrap().value, Some(json!(42)));
    // A second process (a new cache on the same dir and key file) hits the disk entry.
    let again = BytecodeCache::on_disk_with_key_file(&dir).unwrap();
    again.script("6 * 7", sandvm::ScriptOptions::default()).unwrap();
    assert_eq!(again.stats().hits, 1);
    // Tamper with every entry: the next cache rejects and recompiles, never loads it.
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "sbc") {
            let mut b = std::fs::read(&p).unwrap();
            let mid = b.len() / 2;
            b[mid] ^= 0xff;
            std::fs::write(&p, b).unwrap();
        }
    }
    let third = BytecodeCache::on_disk_with_key_file(&dir).unwrap();
    let s = third.script("6 * 7", sandvm::ScriptOptions::default()).unwrap();
    assert_eq!(ctx().run(&s).unwrap().value, Some(json!(42)));
    assert_eq!(third.stats().rejected, 1);
    std::fs::remove_dir_all(&dir).ok();
}
