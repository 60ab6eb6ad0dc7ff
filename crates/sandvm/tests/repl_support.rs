//! The REPL support APIs: `ReplBridge` (lines with `_` / `_error`) and
//! `Context::property_names` (completion without running guest code).
#![forbid(unsafe_code)]

mod common;

use common::{ctx, ctx_with, limits_ms};
use sandvm::{Context, ContextOptions, Error, InspectOptions, Intrinsics, Limits, ReplBridge, ReplLine};

fn bridge() -> ReplBridge {
    ReplBridge::new(InspectOptions::default())
}

fn no_eval() -> Context {
    ctx_with(limits_ms(2000), ContextOptions::default().intrinsics(Intrinsics { eval: false, ..Default::default() }))
}

fn line(b: &ReplBridge, c: &Context, src: &str) -> String {
    match b.eval_line(c, src, "REPL", src.contains("await")) {
        Ok(ReplLine::Value(v)) => v,
        other => panic!("{src:?}: expected a value, got {other:?}"),
    }
}

fn names(c: &Context, path: &[&str]) -> Vec<String> {
    let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
    c.property_names(&path).expect("property names")
}

#[test]
fn underscore_is_the_real_value_and_error_the_real_error() {
    for c in [ctx(), no_eval()] {
        let b = bridge();
        assert_eq!(line(&b, &c, "var o = { a: 1 }; o"), "{ a: 1 }");
        assert_eq!(line(&b, &c, "_ === o"), "true");
        match b.eval_line(&c, "throw new RangeError('boom')", "REPL", false) {
            Err(Error::Exception { name: Some(n), message, .. }) => {
                assert_eq!((n.as_str(), message.as_str()), ("RangeError", "boom"))
            }
            other => panic!("expected the RangeError, got {other:?}"),
        }
        assert_eq!(line(&b, &c, "_error instanceof RangeError && _error.message"), "'boom'");
        // Declarations persist between lines; top-level await works with and without the
        // guest's eval (then the per-thread compiler makes the async script's bytecode).
        assert_eq!(line(&b, &c, "let k = await Promise.resolve(6); k * 7"), "42");
        assert_eq!(line(&b, &c, "k"), "6");
        // A NUL character inside the source is source, not its end.
        assert_eq!(line(&b, &c, "'a\u{0}b'.length"), "3");
    }
}

#[test]
fn a_line_that_does_not_parse_runs_nothing() {
    for c in [ctx(), no_eval()] {
        let b = bridge();
        assert_eq!(b.eval_line(&c, "globalThis.ran = 1; )", "REPL", false).expect("ok"), ReplLine::SyntaxError);
        assert_eq!(line(&b, &c, "typeof ran"), "'undefined'");
    }
}

#[test]
fn the_guest_cannot_call_replace_or_delete_the_bridge() {
    let c = ctx();
    let b = bridge();
    assert!(b.install(&c).expect("install"), "a fresh context gets the bridge");
    assert!(!b.install(&c).expect("install again"), "the bridge is put there once");
    let reserved = |r: sandvm::Result<ReplLine>| match r {
        Err(Error::Exception { name: Some(n), message, .. }) => {
            assert_eq!(n, "TypeError");
            assert_eq!(message, "this function is reserved for the REPL");
        }
        other => panic!("expected the bridge to refuse, got {other:?}"),
    };
    // From inside a line (the bridge disarms itself on entry).
    reserved(b.eval_line(&c, &format!("{}('1', 'x', false)", ReplBridge::NAME), "REPL", false));
    // Called as a plain global function by the host, unarmed.
    match c.call(ReplBridge::NAME, &[serde_json::json!("1"), serde_json::json!("x"), serde_json::json!(false)]) {
        Err(Error::Exception { message, .. }) => assert_eq!(message, "this function is reserved for the REPL"),
        other => panic!("expected the bridge to refuse, got {other:?}"),
    }
    let n = ReplBridge::NAME;
    assert_eq!(line(&b, &c, &format!("delete globalThis.{n}")), "false");
    assert_eq!(line(&b, &c, &format!("globalThis.{n} = () => 'hijacked'; 40 + 2")), "42");
    assert_eq!(line(&b, &c, "1 + 1"), "2");
}

#[test]
fn an_interrupt_is_not_bound_to_underscore_error() {
    let c = ctx_with(limits_ms(50), ContextOptions::default());
    let b = bridge();
    assert!(matches!(b.eval_line(&c, "for (;;) {}", "REPL", false), Err(Error::Timeout)));
    assert_eq!(line(&b, &c, "typeof _error"), "'undefined'");
}

#[test]
fn the_bridge_comes_back_after_the_engine_is_rebuilt() {
    let c = ctx_with(Limits { memory: 8 * 1024 * 1024, ..limits_ms(2000) }, ContextOptions::default());
    let b = bridge();
    let hog = "let a = []; for (;;) a.push(new Array(100000).fill(1.5));";
    assert!(matches!(b.eval_line(&c, hog, "REPL", false), Err(Error::MemoryLimit)));
    assert_eq!(line(&b, &c, "typeof a"), "'undefined'");
}

#[test]
fn property_names_run_no_guest_code() {
    let c = ctx();
    let b = bridge();
    line(
        &b,
        &c,
        "var hits = 0; var obj = { plain: { inner: 1 }, get g() { hits++; return { x: 1 } } };\
         var p = new Proxy({ t: 1 }, { ownKeys() { hits++; return [] }, get() { hits++ },\
           getPrototypeOf() { hits++; return null }, getOwnPropertyDescriptor() { hits++ }, has() { hits++ } });\
         Object.defineProperty(globalThis, 'gg', { get() { hits++; return {} } });\
         var holder = { p }; var big = new Array(100000).fill(0); var small = [1, 2];\
         let lexical = { deep: 1 };",
    );
    let obj = names(&c, &["obj"]);
    assert!(obj.contains(&"plain".to_string()) && obj.contains(&"g".to_string()), "{obj:?}");
    assert!(obj.contains(&"hasOwnProperty".to_string()), "the prototype chain is walked: {obj:?}");
    assert_eq!(names(&c, &["obj", "plain"]).first().map(String::as_str), Some("inner"));
    for blocked in [&["obj", "g"][..], &["p"], &["p", "t"], &["holder", "p"], &["gg"], &["missing"]] {
        assert!(names(&c, blocked).is_empty(), "{blocked:?}");
    }
    // Primitives complete through their intrinsic prototype; huge arrays only offer length.
    assert!(names(&c, &["obj", "plain", "inner"]).contains(&"toFixed".to_string()));
    assert_eq!(names(&c, &["big"]).iter().filter(|n| n.parse::<usize>().is_ok()).count(), 0);
    assert!(names(&c, &["big"]).contains(&"length".to_string()));
    assert!(names(&c, &["small"]).contains(&"1".to_string()));
    // A top-level `let` is found (the context has eval), the bridge itself never is.
    assert_eq!(names(&c, &["lexical"]).first().map(String::as_str), Some("deep"));
    let globals = names(&c, &[]);
    assert!(globals.contains(&"holder".to_string()));
    assert!(!globals.iter().any(|n| n == ReplBridge::NAME), "{globals:?}");
    assert_eq!(line(&b, &c, "hits"), "0");
    // Without the eval intrinsic no lexical lookup is tried.
    let ne = no_eval();
    line(&b, &ne, "let hidden = { z: 1 }; var shown = { y: 1 }");
    assert!(names(&ne, &["hidden"]).is_empty());
    assert_eq!(names(&ne, &["shown"]).first().map(String::as_str), Some("y"));
}
