//! A context's recorded setup (globals, host functions, scripts, compiled scripts, modules,
//! calls) comes back, in order, whenever a spent engine is replaced; guest-made state does not.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::json;

use sandvm::{Context, ContextOptions, Error, Limits, Runtime, Script, SetupStep};

fn limits() -> Limits {
    Limits { timeout: Some(Duration::from_millis(100)), memory: 16 * 1024 * 1024, ..Limits::default() }
}

fn context() -> Context {
    let rt = Runtime::new(limits()).expect("runtime");
    Context::new(&rt, ContextOptions::default()).expect("context")
}

/// Records one of each kind of setup, interleaved with host-installed globals.
fn set_up(ctx: &Context) {
    ctx.set_global("base", &json!(10)).expect("global");
    ctx.run_setup(SetupStep::script("var fromScript = base + 1; var counter = 0;", "<setup-script>")).expect("script");
    let compiled = Script::new("var fromCompiled = fromScript + 1;", "<setup-compiled>").expect("compile");
    ctx.run_setup(SetupStep::compiled(&compiled)).expect("compiled");
    ctx.run_setup(SetupStep::script("function bump(n) { counter += n; return counter }", "<bump>")).expect("bump");
    ctx.run_setup(SetupStep::call("bump", &[json!(5)])).expect("call");
    let module = "export const m = 1; globalThis.fromModule = fromCompiled + m;";
    ctx.run_setup(SetupStep::module(module, "setup.mjs")).expect("module");
}

fn assert_setup_state(ctx: &Context) {
    let got = ctx.eval("[base, fromScript, fromCompiled, counter, fromModule, typeof guestMade]").expect("eval");
    assert_eq!(got.value, Some(json!([10, 11, 12, 5, 13, "undefined"])), "{}", got.display);
}

#[test]
fn setup_comes_back_after_every_kind_of_spent_run() {
    let ctx = context();
    set_up(&ctx);
    let spenders: [(&str, Error); 3] = [
        ("for (;;) {}", Error::Timeout),
        ("const a = []; for (;;) a.push(new Array(1e5).fill(1))", Error::MemoryLimit),
        ("function f() { return f() } f()", Error::StackOverflow),
    ];
    for (spend, expected) in spenders {
        ctx.eval("var guestMade = 1; bump(100)").expect("guest state");
        assert_eq!(ctx.eval(spend), Err(expected.clone()));
        assert!(ctx.runtime().is_spent(), "{expected:?} spends the engine");
        assert_setup_state(&ctx);
        assert!(!ctx.runtime().is_spent());
    }
    assert_eq!(ctx.runtime().generation(), 3);
}

#[test]
fn a_failing_step_is_not_recorded_and_keys_replace_and_remove() {
    let ctx = context();
    let thrown = ctx.run_setup(SetupStep::script("var half = 1; throw new Error('no')", "<bad>"));
    assert!(matches!(thrown, Err(Error::Exception { .. })), "{thrown:?}");
    ctx.run_setup(SetupStep::script("var mode = 'first'", "<mode>").key("mode")).expect("first");
    ctx.run_setup(SetupStep::script("var mode = 'second'", "<mode>").key("mode")).expect("second");
    ctx.run_setup(SetupStep::script("var extra = true", "<extra>").key("extra")).expect("extra");
    assert!(ctx.remove_setup("extra"));
    assert!(!ctx.remove_setup("extra"));
    // Removing a step leaves the live context alone until the next rebuild.
    assert_eq!(ctx.eval("typeof extra").expect("eval").display, "'boolean'");
    assert_eq!(ctx.eval("for (;;) {}"), Err(Error::Timeout));
    let got = ctx.eval("[typeof half, mode, typeof extra]").expect("eval");
    assert_eq!(got.value, Some(json!(["undefined", "second", "undefined"])));
}

#[test]
fn a_step_that_fails_on_replay_is_a_typed_error_with_its_cause() {
    let ctx = context();
    let calls = Rc::new(Cell::new(0u32));
    let seen = calls.clone();
    ctx.register_fn("ticket", move |(): ()| {
        seen.set(seen.get() + 1);
        Ok::<_, String>(seen.get())
    })
    .expect("host fn");
    ctx.run_setup(SetupStep::script("if (ticket() > 1) throw new TypeError('only once')", "<once>")).expect("first");
    assert_eq!(ctx.eval("function f() { return f() } f()"), Err(Error::StackOverflow));
    let err = ctx.eval("1").expect_err("the replay fails");
    match &err {
        Error::SetupFailed { step, what, source } => {
            assert_eq!((*step, what.as_str()), (1, "script <once>"));
            assert!(
                matches!(source.as_ref(), Error::Exception { name: Some(n), .. } if n == "TypeError"),
                "{source:?}"
            );
        }
        other => panic!("expected SetupFailed, got {other:?}"),
    }
    assert_eq!(err.kind(), "setup_failed");
    let cause = std::error::Error::source(&err).expect("a source");
    assert!(cause.to_string().contains("only once"), "{cause}");
    // It fails the same way on the next run (rebuilt and replayed again), never half set up.
    assert!(matches!(ctx.eval("1"), Err(Error::SetupFailed { step: 1, .. })));
    assert_eq!(calls.get(), 3);
}

#[test]
fn a_step_that_times_out_on_replay_is_a_typed_error() {
    let ctx = context();
    ctx.set_global("slow", &json!(false)).expect("global");
    ctx.run_setup(SetupStep::script("if (slow) for (;;) {}", "<maybe-slow>")).expect("fast the first time");
    // A global set again keeps its place in the setup: the script replays after it.
    ctx.set_global("slow", &json!(true)).expect("global");
    assert_eq!(ctx.eval("for (;;) {}"), Err(Error::Timeout));
    for _ in 0..2 {
        match ctx.eval("1") {
            Err(Error::SetupFailed { step: 1, source, .. }) => assert_eq!(*source, Error::Timeout),
            other => panic!("expected SetupFailed, got {other:?}"),
        }
        assert!(ctx.runtime().is_spent());
    }
}
