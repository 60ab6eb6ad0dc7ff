//! Hostile guests: escape attempts, pollution of injected values, host intact afterwards.
//! Each case states the exact expected outcome.

mod common;

use common::*;
use sandvm::{ContextOptions, Error};
use serde_json::json;

/// Runs `src` and expects a JSON value.
fn expect(src: &str, want: serde_json::Value) {
    let c = ctx();
    c.set_global("input", &json!({"a": [1, 2, 3]})).unwrap();
    c.register_fn("hostAdd", |(a, b): (f64, f64)| Ok::<_, String>(a + b)).unwrap();
    assert_eq!(value(&c, src), want, "{src}");
}

#[test]
fn constructor_chain_escapes_reach_only_the_sandbox() {
    expect("this.constructor.constructor('return typeof process')()", json!("undefined"));
    expect("this.constructor.constructor('return this')() === globalThis", json!(true));
    expect("hostAdd.constructor('return typeof require')()", json!("undefined"));
    expect("input.constructor.constructor('return Object.keys(globalThis)')().includes('process')", json!(false));
    expect("(async function(){}).constructor('return typeof std')().constructor.name", json!("Promise"));
    expect("Object.getPrototypeOf(hostAdd) === Function.prototype", json!(true));
    expect("input.a.constructor === Array && Object.getPrototypeOf(input) === Object.prototype", json!(true));
}

#[test]
fn no_ambient_capabilities() {
    expect(
        "['process','require','module','std','os','Deno','Bun','fetch','XMLHttpRequest','setTimeout','setInterval','queueMicrotask','importScripts','WebAssembly','SharedArrayBuffer'].filter(k => typeof globalThis[k] !== 'undefined')",
        json!(["SharedArrayBuffer"]),
    );
    let c = ctx();
    match c.eval("import('fs')") {
        Err(Error::ModuleNotAllowed { specifier, .. }) => assert_eq!(specifier, "fs"),
        other => panic!("dynamic import must fail: {other:?}"),
    }
}

#[test]
fn prepare_stack_trace_and_callsites_only_see_guest_frames() {
    expect(
        "Error.prepareStackTrace = (e, frames) => frames.map(f => typeof f.getFunction === 'function' ? typeof f.getThis() : 'x'); \
         let r; try { hostAdd('a') } catch (e) { r = e.stack } typeof r",
        json!("object"),
    );
    // A host error's stack formatting runs guest code only in the guest realm, and the host
    // function object exposes nothing but a guest-realm Function.
    expect(
        "let leaked = []; Error.prepareStackTrace = (e, cs) => { cs.forEach(c => leaked.push(c.getFunction && c.getFunction())); return 's' }; \
         try { hostAdd({get x(){ throw new Error('in getter') }}, 1) } catch (e) { e.stack } \
         leaked.every(f => f === undefined || typeof f === 'function' && f.constructor === Function)",
        json!(true),
    );
}

#[test]
fn proxy_traps_on_thrown_values_and_results() {
    let c = ctx();
    // A thrown Proxy: the host classifies it without running traps into a crash.
    match c.eval("throw new Proxy(new Error('p'), { get(t, k) { throw new Error('trap ' + String(k)) } })") {
        Err(Error::Exception { .. }) => {}
        other => panic!("{other:?}"),
    }
    // A Proxy as the completion value: rendering shows the target without running traps; the
    // JSON copy is made like JSON.stringify (a `toJSON` lookup and `ownKeys`), under the limits.
    let done = c.eval("let hits = 0; globalThis.p = new Proxy({a: 1}, { get() { hits++; return 1 }, ownKeys() { hits++; return [] } }); p").unwrap();
    assert_eq!(done.display, "{ a: 1 }");
    assert_eq!(done.value, Some(json!({})));
    assert_eq!(value(&c, "hits"), json!(2));
    // A Proxy whose traps loop forever cannot hang the host's copy.
    let c = ctx_with(limits_ms(100), ContextOptions::default());
    assert_eq!(c.eval("new Proxy({}, { ownKeys() { for (;;) {} } })"), Err(Error::Timeout));
}

#[test]
fn symbol_species_and_thenables() {
    expect(
        "class Evil extends Array { static get [Symbol.species]() { return function () { return { length: 0 } } } } \
         typeof new Evil(1, 2).map(x => x)",
        json!("object"),
    );
    expect("let n = 0; Promise.resolve({ then(r) { n++; r(5) } }).then(v => v + n)", json!(6));
    expect(
        "Object.defineProperty(Promise.prototype, 'then', { value() { return 'hijacked' } }); (async () => 1)()",
        json!(1),
    );
}

#[test]
fn errors_with_cause_and_aggregate() {
    let c = ctx();
    match c.eval("throw new AggregateError([new Error('a'), 1], 'many', { cause: { secret: 1 } })") {
        Err(Error::Exception { name, message, .. }) => {
            assert_eq!(name.as_deref(), Some("AggregateError"));
            assert_eq!(message, "many");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn async_generators_and_return_yield() {
    expect(
        "(async () => { async function* g() { try { yield 1; yield 2 } finally { await null } } const it = g(); await it.next(); return (await it.return(9)).value })()",
        json!(9),
    );
}

#[test]
fn polluting_injected_globals_does_not_touch_the_host_or_other_runs() {
    let host_value = json!({"user": {"role": "viewer"}});
    let c = ctx();
    c.set_global("data", &host_value).unwrap();
    c.eval("data.user.role = 'admin'; data.__proto__.isAdmin = true; Object.prototype.isAdmin = true").unwrap();
    assert_eq!(host_value["user"]["role"], json!("viewer"));
    let fresh = ctx();
    fresh.set_global("data", &host_value).unwrap();
    assert_eq!(value(&fresh, "[data.user.role, data.isAdmin, ({}).isAdmin]"), json!(["viewer", null, null]));
}

#[test]
fn stack_trace_limit_abuse_does_not_crash_the_host() {
    let c = ctx();
    assert_eq!(
        value(
            &c,
            "Error.stackTraceLimit = {}; Error.stackTraceLimit = {valueOf() { return 1 }}; new Error('x').message"
        ),
        json!("x")
    );
    drop(c);
    // Dropping the runtime the guest touched must not abort the process.
    let c = ctx();
    c.eval("Error.stackTraceLimit = Symbol(); Error.stackTraceLimit = [1]").unwrap();
}

#[test]
fn escape_through_inspection_hooks() {
    let c = ctx_with(limits_ms(500), ContextOptions::default());
    // Custom inspect hooks, toString, Symbol.toPrimitive on the result: never run by the host.
    let done = c
        .eval("globalThis.ran = 0; ({ [Symbol.for('nodejs.util.inspect.custom')]() { ran++; return 'x' }, toString() { ran++ }, [Symbol.toPrimitive]() { ran++ } })")
        .unwrap();
    assert!(done.display.starts_with('{'), "{}", done.display);
    assert_eq!(value(&c, "ran"), json!(0));
}

#[test]
fn regex_backtracking_is_bounded() {
    let c = ctx_with(limits_ms(100), ContextOptions::default());
    assert_eq!(c.eval("/^(a|a)*$/.test('a'.repeat(64) + 'b')"), Err(Error::Timeout));
}

#[test]
fn limit_errors_cannot_be_forged_from_guest_values() {
    let c = ctx();
    c.eval("var marker = 'still here'").unwrap();
    for src in [
        "throw new InternalError('interrupted')",
        "throw new InternalError('out of memory')",
        "throw Object.assign(new Error('interrupted'), { name: 'InternalError' })",
        "Promise.reject(new InternalError('interrupted'))",
    ] {
        match c.eval(src) {
            Err(Error::Exception { name, message, .. }) => {
                assert_eq!(name.as_deref(), Some("InternalError"), "{src}");
                assert!(message == "interrupted" || message == "out of memory", "{src}: {message}");
            }
            other => panic!("{src}: a forged limit error must stay an exception, got {other:?}"),
        }
        // The runtime was not treated as spent (it would have been rebuilt, losing guest state).
        assert_eq!(value(&c, "marker"), json!("still here"), "{src}");
    }
    // The genuine ones still are limits.
    assert!(matches!(c.eval("while (true) {}"), Err(Error::Timeout)));
}
