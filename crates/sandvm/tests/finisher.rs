//! `Context::set_finisher`: a guest function that every completion value passes through
//! before it is copied out (the Node binding encodes non-JSON values with it).

use serde_json::json;

fn ctx() -> sandvm::Context {
    let rt = sandvm::Runtime::new(sandvm::Limits::default()).expect("runtime");
    sandvm::Context::new(&rt, sandvm::ContextOptions::default()).expect("context")
}

#[test]
fn the_finisher_transforms_the_copied_value_not_the_display() {
    let c = ctx();
    c.eval("globalThis.fin = (v) => ({ type: typeof v, is_date: v instanceof Date })").expect("define");
    c.set_finisher(Some("fin"));
    let done = c.eval("new Date(0)").expect("run");
    assert_eq!(done.value, Some(json!({ "type": "object", "is_date": true })));
    assert_eq!(done.display, "1970-01-01T00:00:00.000Z");
    let undef = c.eval("undefined").expect("run");
    assert_eq!(undef.value, Some(json!({ "type": "undefined", "is_date": false })));
    c.set_finisher(None);
    assert_eq!(c.eval("1 + 1").expect("run").value, Some(json!(2)));
}

#[test]
fn a_missing_finisher_copies_the_value_as_is_and_a_throwing_one_is_the_runs_exception() {
    let c = ctx();
    c.set_finisher(Some("nope"));
    assert_eq!(c.eval("[1]").expect("run").value, Some(json!([1])));
    c.eval("globalThis.nope = () => { throw new RangeError('no copy') }")
        .expect_err("the finisher applies to this run too");
    match c.eval("1") {
        Err(sandvm::Error::Exception { .. }) => {}
        other => panic!("expected the finisher's exception, got {other:?}"),
    }
    // The finisher is looked up when the run ends: the replacement already applies.
    c.eval("globalThis.nope = (v) => v").expect("replaced");
    assert_eq!(c.eval("'ok'").expect("run").value, Some(json!("ok")));
}

#[test]
fn a_finisher_that_loops_ends_as_timeout() {
    let rt = sandvm::Runtime::new(sandvm::Limits {
        timeout: Some(std::time::Duration::from_millis(50)),
        ..Default::default()
    })
    .expect("runtime");
    let c = sandvm::Context::new(&rt, sandvm::ContextOptions::default()).expect("context");
    c.eval("globalThis.spin = () => { for (;;) {} }").expect("define");
    c.set_finisher(Some("spin"));
    assert!(matches!(c.eval("1"), Err(sandvm::Error::Timeout)));
}
