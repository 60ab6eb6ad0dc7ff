//! `Want`: a run produces only the completion parts the caller asks for, and stays a run in
//! every other way (effects, limits, errors).

use sandvm::{Context, ContextOptions, Error, EvalOptions, Limits, Runtime, Script, Want};
use serde_json::json;

fn ctx_with(limits: Limits) -> Context {
    let rt = Runtime::new(limits).expect("runtime");
    Context::new(&rt, ContextOptions::default()).expect("context")
}

#[test]
fn run_wanting_gives_only_the_parts_asked_for() {
    let ctx = ctx_with(Limits::default());
    let script = Script::new("globalThis.x = (globalThis.x|0)+1", "x.js").expect("compile");
    let all = ctx.run_wanting(&script, Want::ALL).expect("run");
    assert_eq!((all.value, all.display.as_str()), (Some(json!(1)), "1"));
    let value = ctx.run_wanting(&script, Want::VALUE).expect("run");
    assert_eq!((value.value, value.display.as_str()), (Some(json!(2)), ""));
    let display = ctx.run_wanting(&script, Want::DISPLAY).expect("run");
    assert_eq!((display.value, display.display.as_str()), (None, "3"));
    let none = ctx.run_wanting(&script, Want::NONE).expect("run");
    assert_eq!((none.value, none.display.as_str()), (None, ""));
    // The runs happened even when nothing came back.
    assert_eq!(ctx.run(&script).expect("run").value, Some(json!(5)));
    assert_eq!(Want::default(), Want::ALL);
}

#[test]
fn eval_wanting_keeps_errors_and_limits() {
    let ctx = ctx_with(Limits { timeout: Some(std::time::Duration::from_millis(50)), ..Default::default() });
    let opts = EvalOptions::default();
    assert!(matches!(ctx.eval_wanting("throw new TypeError('no')", &opts, Want::NONE), Err(Error::Exception { .. })));
    assert_eq!(ctx.eval_wanting("for (;;) {}", &opts, Want::NONE), Err(Error::Timeout));
    let v = ctx.eval_wanting("({ a: [1, 2] })", &opts, Want::VALUE).expect("eval");
    assert_eq!((v.value, v.display.as_str()), (Some(json!({"a": [1, 2]})), ""));
    let d = ctx.eval_wanting("new Map([[1, 2]])", &opts, Want::DISPLAY).expect("eval");
    assert_eq!((d.value, d.display.as_str()), (None, "Map(1) { 1 => 2 }"));
}

#[test]
fn a_value_not_asked_for_is_never_read() {
    // A getter on the completion value runs only when the value is copied out.
    let ctx = ctx_with(Limits::default());
    let src = "globalThis.reads = 0; ({ get g() { globalThis.reads++; return 1 } })";
    ctx.eval_wanting(src, &EvalOptions::default(), Want::NONE).expect("eval");
    assert_eq!(ctx.eval("reads").expect("eval").value, Some(json!(0)));
}

#[test]
fn the_output_limit_still_counts_what_is_returned() {
    let ctx = ctx_with(Limits { max_output: 1000, ..Default::default() });
    let big = "'x'.repeat(5000)";
    assert_eq!(ctx.eval_wanting(big, &EvalOptions::default(), Want::VALUE), Err(Error::OutputLimit));
    // Nothing returned, nothing charged.
    assert!(ctx.eval_wanting(big, &EvalOptions::default(), Want::NONE).is_ok());
}
