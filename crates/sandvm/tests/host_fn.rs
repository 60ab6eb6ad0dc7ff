//! Host functions: typed arguments, errors, panics, hostile arguments.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::*;
use sandvm::{ContextOptions, Error, Limits};
use serde_json::{json, Value as Json};

#[test]
fn typed_arguments_and_results() {
    let c = ctx();
    c.register_fn("add", |(a, b): (f64, f64)| Ok::<_, String>(a + b)).unwrap();
    c.register_fn("greet", |(name,): (String,)| Ok::<_, String>(json!({"hello": name}))).unwrap();
    c.register_fn("count", |args: Vec<Json>| Ok::<_, String>(args.len())).unwrap();
    assert_eq!(value(&c, "add(2, 3.5)"), json!(5.5));
    assert_eq!(value(&c, "greet('Ada').hello"), json!("Ada"));
    assert_eq!(value(&c, "count(1, 'a', [], {}, null)"), json!(5));
    assert_eq!(value(&c, "add.name"), json!("add"));
}

#[test]
fn bad_arguments_are_a_guest_type_error() {
    let c = ctx();
    c.register_fn("add", |(a, b): (f64, f64)| Ok::<_, String>(a + b)).unwrap();
    assert_eq!(value(&c, "try { add('x', {}) } catch (e) { e.name }"), json!("TypeError"));
    assert_eq!(value(&c, "try { add(1) } catch (e) { e instanceof TypeError }"), json!(true));
}

#[test]
fn host_errors_and_panics_become_guest_exceptions() {
    let c = ctx();
    c.register_fn("fail", |(): ()| Err::<(), _>("nope")).unwrap();
    c.register_fn("panics", |(): ()| -> Result<(), String> { panic!("host bug") }).unwrap();
    assert_eq!(value(&c, "try { fail() } catch (e) { [e.name, e.message] }"), json!(["Error", "nope"]));
    assert_eq!(
        value(&c, "try { panics() } catch (e) { [e.name, e.message] }"),
        json!(["InternalError", "host function 'panics' panicked"])
    );
    // Uncaught: a normal exception for the host, and the runtime keeps working.
    assert!(matches!(c.eval("panics()"), Err(Error::Exception { .. })));
    assert_eq!(value(&c, "1 + 1"), json!(2));
}

#[test]
fn hostile_arguments_run_under_the_limits() {
    let c =
        ctx_with(Limits { timeout: Some(Duration::from_millis(100)), ..Default::default() }, ContextOptions::default());
    let calls = Rc::new(Cell::new(0));
    let k = calls.clone();
    c.register_fn("sink", move |_: Vec<Json>| {
        k.set(k.get() + 1);
        Ok::<_, String>(0)
    })
    .unwrap();
    // A getter that loops forever while the host copies the argument.
    assert_eq!(c.eval("sink({ get x() { for (;;) {} } })"), Err(Error::Timeout));
    // toJSON that throws: the guest sees the error; the host function is not called.
    assert_eq!(
        value(&c, "try { sink({ toJSON() { throw new Error('trap') } }) } catch (e) { e.message }"),
        json!("trap")
    );
    // A Proxy with hostile traps.
    assert_eq!(
        value(
            &c,
            "try { sink(new Proxy({}, { ownKeys() { throw new Error('proxy trap') } })) } catch (e) { e.message }"
        ),
        json!("proxy trap")
    );
    // Cycles and BigInts cannot be copied: a guest TypeError.
    assert_eq!(value(&c, "let o = {}; o.o = o; try { sink(o) } catch (e) { e.name }"), json!("TypeError"));
    assert_eq!(value(&c, "try { sink(1n) } catch (e) { e.name }"), json!("TypeError"));
    assert_eq!(calls.get(), 0);
}

#[test]
fn results_are_copies() {
    let c = ctx();
    c.register_fn("config", |(): ()| Ok::<_, String>(json!({"list": [1, 2]}))).unwrap();
    assert_eq!(
        value(&c, "const a = config(); a.list.push(3); const b = config(); [a.list.length, b.list.length, a === b]"),
        json!([3, 2, false])
    );
}

#[test]
fn reentrant_use_is_refused_not_a_panic() {
    let rt = sandvm::Runtime::new(limits_ms(1000)).unwrap();
    let ctx = Rc::new(sandvm::Context::new(&rt, ContextOptions::default()).unwrap());
    let inner = Rc::downgrade(&ctx);
    ctx.register_fn("reenter", move |(): ()| match inner.upgrade() {
        Some(c) => c.eval("1").map(|_| 0).map_err(|e| e.to_string()),
        None => Ok(1),
    })
    .unwrap();
    match ctx.eval("try { reenter(); 'no error' } catch (e) { e.message }") {
        Ok(done) => {
            let msg = done.value.unwrap_or_default();
            assert!(msg.as_str().is_some_and(|m| m.contains("already running")), "{msg}")
        }
        Err(e) => panic!("{e:?}"),
    }
}
