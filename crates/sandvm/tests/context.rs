//! Contexts: node:vm parity, globals, console, promises, errors, values.

mod common;

use common::*;
use sandvm::{ConsoleLevel, ContextOptions, Error, EvalOptions};
use serde_json::json;

#[test]
fn completion_value_and_sloppy_default() {
    let c = ctx();
    assert_eq!(value(&c, "1 + 1"), json!(2));
    assert_eq!(value(&c, "if (true) { 'a' } else { 'b' }"), json!("a"));
    // Sloppy mode: `with` and implicit globals are allowed.
    assert_eq!(value(&c, "with ({x: 3}) { x * 2 }"), json!(6));
    assert_eq!(value(&c, "implicitGlobal = 5; this.implicitGlobal"), json!(5));
}

#[test]
fn strict_option() {
    let c = ctx_with(limits_ms(1000), ContextOptions::default().strict(true));
    match c.eval("undeclared = 1") {
        Err(Error::Exception { name, .. }) => assert_eq!(name.as_deref(), Some("ReferenceError")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(c.eval("with ({}) {}"), Err(Error::Syntax { .. })));
}

#[test]
fn var_and_function_become_globals_let_const_do_not() {
    let c = ctx();
    c.eval("var a = 1; function f() { return 2 } let b = 3; const d = 4; class K {}").unwrap();
    assert_eq!(
        value(&c, "[typeof a, typeof f, typeof b, typeof d, typeof K]"),
        json!(["number", "function", "number", "number", "function"])
    );
    assert_eq!(
        value(&c, "['a','f','b','d','K'].map(k => Object.prototype.hasOwnProperty.call(globalThis, k))"),
        json!([true, true, false, false, false])
    );
}

#[test]
fn globals_are_deep_copies() {
    let c = ctx();
    let data = json!({"user": {"name": "Ada", "tags": ["x"]}, "__proto__": {"polluted": true}});
    c.set_global("input", &data).unwrap();
    c.eval("input.user.name = 'Eve'; input.user.tags.push('y')").unwrap();
    // The host's value is untouched, and `__proto__` is an own key, not a prototype.
    assert_eq!(data["user"]["name"], json!("Ada"));
    assert_eq!(
        value(&c, "({}).polluted === undefined && Object.getPrototypeOf(input) === Object.prototype"),
        json!(true)
    );
    assert_eq!(value(&c, "input.__proto__.polluted"), json!(true));
    assert_eq!(value(&c, "Object.keys(input).includes('__proto__')"), json!(true));
    // Setting again replaces the guest's copy.
    c.set_global("input", &json!(1)).unwrap();
    assert_eq!(value(&c, "input"), json!(1));
}

#[test]
fn console_is_captured_and_formatted() {
    let c = ctx();
    c.eval("console.log('a %s %d', 'b', 42, {x: [1]}); console.warn('w'); console.error(new Error('e').message); console.info(1n); console.debug(null)")
        .unwrap();
    let out = c.take_console();
    let texts: Vec<_> = out.iter().map(|e| (e.level, e.text.as_str())).collect();
    assert_eq!(
        texts,
        vec![
            (ConsoleLevel::Log, "a b 42 { x: [ 1 ] }"),
            (ConsoleLevel::Warn, "w"),
            (ConsoleLevel::Error, "e"),
            (ConsoleLevel::Info, "1n"),
            (ConsoleLevel::Debug, "null"),
        ]
    );
    assert!(c.take_console().is_empty());
}

#[test]
fn console_can_be_disabled() {
    let c = ctx_with(limits_ms(1000), ContextOptions::default().console(false));
    assert_eq!(value(&c, "typeof console"), json!("undefined"));
}

#[test]
fn promises_are_awaited_within_the_run() {
    let c = ctx();
    assert_eq!(value(&c, "Promise.resolve(7)"), json!(7));
    assert_eq!(
        value(&c, "(async () => { let s = 0; for (let i = 0; i < 100; i++) s += await i; return s })()"),
        json!(4950)
    );
    match c.eval("(async () => { await null; throw new RangeError('late') })()") {
        Err(Error::Exception { name, message, .. }) => {
            assert_eq!(name.as_deref(), Some("RangeError"));
            assert_eq!(message, "late");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.eval("new Promise(() => {})"), Err(Error::Unsettled));
    // Microtasks queued by a non-promise completion still run, and their output is captured.
    c.eval("Promise.resolve().then(() => console.log('tick')); 1").unwrap();
    assert_eq!(c.take_console()[0].text, "tick");
}

#[test]
fn await_promise_off_returns_the_promise() {
    let c = ctx_with(limits_ms(1000), ContextOptions::default().await_promise(false));
    let done = c.eval("Promise.resolve(3)").unwrap();
    assert_eq!(done.display, "Promise { 3 }");
    assert_eq!(done.value, Some(json!({})));
}

#[test]
fn top_level_await() {
    let c = ctx();
    let opts = EvalOptions { top_level_await: true, ..Default::default() };
    let done = c.eval_with("const v = await Promise.resolve(41); v + 1", &opts).unwrap();
    assert_eq!(done.value, Some(json!(42)));
    assert_eq!(done.display, "42");
}

#[test]
fn errors_carry_name_message_stack_and_position() {
    let c = ctx_with(limits_ms(1000), ContextOptions::default().filename("job.js"));
    match c.eval("\n\nfunction g() { null.x }\ng()") {
        Err(Error::Exception { name, message, stack, line, column, value }) => {
            assert_eq!(name.as_deref(), Some("TypeError"));
            assert!(message.contains("null"), "{message}");
            assert!(stack.unwrap_or_default().contains("job.js:3"));
            assert_eq!(line, Some(3));
            assert_eq!(column, Some(16));
            assert_eq!(value, None);
        }
        other => panic!("{other:?}"),
    }
    match c.eval("throw {code: 7}") {
        Err(Error::Exception { name: None, value, message, .. }) => {
            assert_eq!(value.as_deref(), Some(&json!({"code": 7})));
            assert_eq!(message, "{ code: 7 }");
        }
        other => panic!("{other:?}"),
    }
    match c.eval("throw null") {
        Err(Error::Exception { name: None, message, .. }) => assert_eq!(message, "null"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn syntax_errors_and_incomplete_input() {
    let c = ctx();
    let cases = [
        ("function f() {", true),
        ("`abc", true),
        ("1 +", true),
        ("foo(", true),
        ("/* open comment", true),
        ("let x = ;", false),
        ("1 1", false),
        ("}", false),
    ];
    for (src, incomplete) in cases {
        match c.eval(src) {
            Err(Error::Syntax { incomplete_input, line, column, .. }) => {
                assert_eq!(incomplete_input, incomplete, "{src:?}");
                assert_eq!(line, Some(1), "{src:?}");
                assert!(column.is_some(), "{src:?}");
            }
            other => panic!("{src:?}: {other:?}"),
        }
    }
    // A SyntaxError thrown at run time is an exception, not a syntax error.
    assert!(matches!(c.eval("JSON.parse('{')"), Err(Error::Exception { .. })));
    assert!(matches!(c.eval("throw new SyntaxError('x')"), Err(Error::Exception { .. })));
}

#[test]
fn source_with_nul_characters() {
    let c = ctx();
    assert_eq!(value(&c, "'a\u{0}b'.length"), json!(3));
    assert_eq!(value(&c, "`x\u{0}`.charCodeAt(1)"), json!(0));
}

#[test]
fn values_out() {
    let c = ctx();
    let cases: &[(&str, Option<serde_json::Value>, &str)] = &[
        ("undefined", None, "undefined"),
        ("null", Some(json!(null)), "null"),
        ("1.5", Some(json!(1.5)), "1.5"),
        ("NaN", None, "NaN"),
        ("'s'", Some(json!("s")), "'s'"),
        ("({a: [1, {b: 2}]})", Some(json!({"a": [1, {"b": 2}]})), "{ a: [ 1, { b: 2 } ] }"),
        ("(function f() {})", None, "[Function: f]"),
        ("Symbol('q')", None, "Symbol(q)"),
        ("10n ** 20n", None, "100000000000000000000n"),
        ("new Map([[1, 'a']])", Some(json!({})), "Map(1) { 1 => 'a' }"),
        ("let o = {}; o.self = o; o", None, "<ref *1> { self: [Circular *1] }"),
        ("'\\ud800'", Some(json!("\u{fffd}")), "'\\ud800'"),
    ];
    for (src, v, display) in cases {
        let done = c.eval(src).unwrap_or_else(|e| panic!("{src}: {e:?}"));
        assert_eq!(&done.value, v, "{src}");
        assert_eq!(done.display, *display, "{src}");
    }
}

#[test]
fn eval_as_deserializes() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct P {
        x: i32,
        tags: Vec<String>,
    }
    let c = ctx();
    let p: P = c.eval_as("({x: 3, tags: ['a']})").unwrap();
    assert_eq!(p, P { x: 3, tags: vec!["a".into()] });
    assert!(matches!(c.eval_as::<P>("({x: 'no'})"), Err(Error::Host(_))));
}

#[test]
fn call_global_functions() {
    let c = ctx();
    c.eval("function add(a, b) { return a + b }").unwrap();
    assert_eq!(c.call("add", &[json!(2), json!(3)]).unwrap().value, Some(json!(5)));
    assert!(matches!(c.call("nope", &[]), Err(Error::NotAFunction { ref what }) if what == "nope"));
    c.eval("function boom() { throw new Error('x') }").unwrap();
    assert!(matches!(c.call("boom", &[]), Err(Error::Exception { .. })));
}

#[test]
fn compile_function_like_node() {
    let c = ctx();
    let f = c.compile_function(&["a", "b"], "return a * b").unwrap();
    assert_eq!(c.call_function(&f, &[json!(6), json!(7)]).unwrap().value, Some(json!(42)));
    assert_eq!(c.call_function(&f, &[json!(2), json!(2)]).unwrap().value, Some(json!(4)));
    assert!(matches!(c.compile_function(&["a b"], "return 1"), Err(Error::InvalidArgument { .. })));
    match c.compile_function(&[], "\nlet x = ;") {
        Err(Error::Syntax { line, .. }) => assert_eq!(line, Some(2)),
        other => panic!("{other:?}"),
    }
    // The body cannot close the function and run code outside it (in this context).
    assert!(matches!(c.compile_function(&[], "}); globalThis.escaped = 1; (function() {"), Err(Error::Syntax { .. })));
    assert_eq!(value(&c, "typeof escaped"), json!("undefined"));
    let c2 = ctx_with(limits_ms(100), ContextOptions::default());
    assert_eq!(c2.compile_function(&[], "}); for (;;) {} (function() {").unwrap_err(), Error::Timeout);
}

#[test]
fn run_in_new_context_reports_everything() {
    let out = sandvm::run_in_new_context(
        "console.log('hi'); x + 1",
        &json!({"x": 1}),
        &limits_ms(1000),
        &ContextOptions::default(),
    );
    assert_eq!(out.result.unwrap().value, Some(json!(2)));
    assert_eq!(out.console.len(), 1);
    assert!(out.stats.wall_ms >= 0.0);
    assert!(out.stats.heap_bytes > 0);
    let bad = sandvm::run_in_new_context("1", &json!([1]), &limits_ms(1000), &ContextOptions::default());
    assert!(matches!(bad.result, Err(Error::InvalidArgument { .. })));
}

#[test]
fn contexts_of_one_runtime_are_separate_realms() {
    let rt = sandvm::Runtime::new(limits_ms(1000)).unwrap();
    let a = sandvm::Context::new(&rt, ContextOptions::default()).unwrap();
    let b = sandvm::Context::new(&rt, ContextOptions::default()).unwrap();
    a.eval("var shared = 1; Object.prototype.polluted = true").unwrap();
    assert_eq!(value(&b, "typeof shared"), json!("undefined"));
    assert_eq!(value(&b, "({}).polluted"), json!(null));
}

#[test]
fn stats_are_recorded() {
    let c = ctx();
    c.eval("let a = []; for (let i = 0; i < 10000; i++) a.push({i}); Promise.resolve(1).then(x => x + 1)").unwrap();
    let s = c.stats();
    assert!(s.wall_ms > 0.0 && s.cpu_ms > 0.0);
    assert!(s.heap_peak_bytes >= s.heap_bytes, "{s:?}");
    assert!(s.heap_peak_bytes > 200_000, "{s:?}");
    assert!(s.jobs >= 1, "{s:?}");
}
