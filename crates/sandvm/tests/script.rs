//! Scripts compiled once, run many times; authenticated cached data.

mod common;

use common::*;
use sandvm::{CacheKey, Context, ContextOptions, Error, Intrinsics, Runtime, Script, ScriptOptions};
use serde_json::json;

#[test]
fn compile_once_run_in_many_contexts_and_runtimes() {
    let script = Script::new("var count = (typeof count === 'number' ? count : 0) + 1; count", "count.js").unwrap();
    let a = ctx();
    let b = ctx();
    assert_eq!(script.run_in(&a).unwrap().value, Some(json!(1)));
    assert_eq!(script.run_in(&a).unwrap().value, Some(json!(2)));
    assert_eq!(b.run(&script).unwrap().value, Some(json!(1)));
    assert_eq!(script.filename(), "count.js");
}

#[test]
fn script_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Script>();
    let script = Script::new("6 * 7", "x.js").unwrap();
    let t = std::thread::spawn(move || {
        let c = ctx();
        c.run(&script).unwrap().value
    });
    assert_eq!(t.join().unwrap(), Some(json!(42)));
}

#[test]
fn syntax_errors_at_compile_time() {
    match Script::new("let = ;", "bad.js") {
        Err(Error::Syntax { line, column, .. }) => {
            assert_eq!(line, Some(1));
            assert!(column.is_some());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn strict_scripts() {
    let s = Script::with_options("undeclaredVar = 1", ScriptOptions { filename: "s.js".into(), strict: true }).unwrap();
    assert!(matches!(ctx().run(&s), Err(Error::Exception { .. })));
    let sloppy = Script::new("undeclaredVar = 1", "s.js").unwrap();
    assert_eq!(ctx().run(&sloppy).unwrap().value, Some(json!(1)));
}

#[test]
fn scripts_run_where_eval_is_disabled() {
    let c = ctx_with(
        limits_ms(1000),
        ContextOptions::default().intrinsics(Intrinsics { eval: false, ..Default::default() }),
    );
    let s = Script::new(
        "[typeof eval, (() => { try { Function('return 1')(); return 'compiled' } catch (e) { return e.name } })()]",
        "s.js",
    )
    .unwrap();
    assert_eq!(c.run(&s).unwrap().value, Some(json!(["undefined", "TypeError"])));
    // The host can still evaluate source: it is compiled outside the sandbox realm.
    assert_eq!(value(&c, "[1, 2].length"), json!(2));
    assert_eq!(value(&c, "Object.getPrototypeOf([]) === Array.prototype"), json!(true));
}

#[test]
fn cached_data_round_trip() {
    let src = "function sq(x) { return x * x } sq(12)";
    let script = Script::new(src, "sq.js").unwrap();
    let data = script.cached_data();
    let again = Script::with_cached_data(src, &data).unwrap();
    assert_eq!(again.filename(), "sq.js");
    assert_eq!(ctx().run(&again).unwrap().value, Some(json!(144)));
    // A persistent key works across "processes" (here: two keys made from the same bytes).
    let key = CacheKey::new([7; 32]);
    let keyed = script.cached_data_with(&key);
    assert!(Script::with_cached_data_keyed(src, &keyed, &CacheKey::new([7; 32])).is_ok());
}

#[test]
fn cached_data_rejects_tampering_truncation_other_keys_and_sources() {
    let src = "'secret'.length";
    let script = Script::new(src, "t.js").unwrap();
    let data = script.cached_data();
    let rejected = |r: sandvm::Result<Script>| matches!(r, Err(Error::CachedDataRejected(_)));
    // Every single-byte change is caught.
    for i in (0..data.len()).step_by(7) {
        let mut bad = data.clone();
        bad[i] ^= 0x55;
        assert!(rejected(Script::with_cached_data(src, &bad)), "flip at {i}");
    }
    for cut in [0, 1, 10, data.len() / 2, data.len() - 1] {
        assert!(rejected(Script::with_cached_data(src, &data[..cut])), "cut {cut}");
    }
    let mut longer = data.clone();
    longer.push(0);
    assert!(rejected(Script::with_cached_data(src, &longer)));
    assert!(rejected(Script::with_cached_data("'other'.length", &data)));
    assert!(rejected(Script::with_cached_data_keyed(src, &data, &CacheKey::new([1; 32]))));
    assert!(rejected(Script::with_cached_data(src, b"")));
    assert!(rejected(Script::with_cached_data(src, &[0xff; 4096])));
}

#[test]
fn script_survives_runtime_reset() {
    let rt = Runtime::new(limits_ms(50)).unwrap();
    let c = Context::new(&rt, ContextOptions::default()).unwrap();
    let s = Script::new("'still here'", "s.js").unwrap();
    assert_eq!(c.run(&s).unwrap().value, Some(json!("still here")));
    assert_eq!(c.eval("while (true) {}"), Err(Error::Timeout));
    assert_eq!(c.run(&s).unwrap().value, Some(json!("still here")));
}
