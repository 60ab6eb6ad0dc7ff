//! Limits: time (microtasks included), memory, stack, output, jobs, cancellation, recovery.

mod common;

use std::time::{Duration, Instant};

use common::*;
use sandvm::{ContextOptions, Error, Limits};
use serde_json::json;

fn assert_err(ctx: &sandvm::Context, src: &str, want: Error) {
    let got = ctx.eval(src);
    assert_eq!(got, Err(want), "{src}");
    // The host is intact and the next run has full limits.
    assert_eq!(value(ctx, "6 * 7"), json!(42), "after {src}");
}

#[test]
fn timeouts_cover_loops_microtasks_and_async() {
    let c = ctx_with(limits_ms(100), ContextOptions::default());
    for src in [
        "while (true) {}",
        "for (;;) { try { while(true){} } catch (e) {} }",
        "(function f() { for (;;) {} })()",
        "async function f() { for (;;) await null } f()",
        "Promise.resolve().then(function loop() { return Promise.resolve().then(loop) }); new Promise(() => {})",
        "(async () => { while (true) { await new Promise(r => r()) } })()",
        "new Promise(r => { while (true) {} })",
        "function r() { try { r() } catch (e) { r() } } r()",
        "Promise.resolve({ then(r) { for (;;) {} } })",
        "/(a+)+$/.test('a'.repeat(40) + '!')",
        "function* g() { while (true) yield 1 } for (const x of g()) {}",
    ] {
        let t = Instant::now();
        assert_err(&c, src, Error::Timeout);
        assert!(t.elapsed() < Duration::from_secs(5), "{src} took {:?}", t.elapsed());
    }
}

#[test]
fn an_interrupt_swallowed_by_guest_code_still_times_out() {
    let c = ctx_with(limits_ms(100), ContextOptions::default());
    // Inside a Promise executor the engine turns the interrupt into a rejection the guest can
    // catch; the run must still end as a timeout.
    assert_err(&c, "new Promise(r => { while (true) {} }).catch(() => 'survived')", Error::Timeout);
    assert_err(&c, "try { new Promise(r => { while (true) {} }) } catch (e) {} 'survived'", Error::Timeout);
}

#[test]
fn cpu_time_budget() {
    let limits = Limits {
        timeout: Some(Duration::from_secs(10)),
        cpu_time: Some(Duration::from_millis(100)),
        ..Default::default()
    };
    let c = ctx_with(limits, ContextOptions::default());
    assert_err(&c, "while (true) {}", Error::Timeout);
}

#[test]
fn memory_limit() {
    let limits = Limits { memory: 16 * 1024 * 1024, ..limits_ms(5000) };
    let c = ctx_with(limits, ContextOptions::default());
    for src in [
        "let a = []; for (;;) a.push({ x: a.length })",
        "let a = []; for (;;) a.push(new Array(1000).fill(1))",
        "new ArrayBuffer(1e9)",
        "let s = 'x'.repeat(1e6); let a = []; for (;;) a.push(s + a.length)",
        "let a = []; try { for (;;) a.push([1,2,3]) } catch (e) { a = null; for (;;) {} }",
        "let m = new Map(); for (let i = 0;; i++) m.set(i, {i})",
    ] {
        assert_err(&c, src, Error::MemoryLimit);
    }
}

#[test]
fn stack_overflow() {
    let c = ctx();
    for src in [
        "function r() { r() } r()",
        "const o = {}; o.toString = function () { return '' + this }; '' + o",
        "JSON.stringify((function nest(n) { let a = []; for (let i = 0; i < 1e5; i++) a = [a]; return a })())",
    ] {
        assert_err(&c, src, Error::StackOverflow);
    }
}

#[test]
fn stack_limit_is_clamped() {
    for stack in [0usize, 1, usize::MAX] {
        let c = ctx_with(Limits { stack, ..limits_ms(2000) }, ContextOptions::default());
        assert_err(&c, "function r() { r() } r()", Error::StackOverflow);
    }
}

#[test]
fn output_limit() {
    let c = ctx_with(Limits { max_output: 1000, ..limits_ms(1000) }, ContextOptions::default());
    assert_err(&c, "for (;;) console.log('spam')", Error::OutputLimit);
    assert_err(&c, "for (;;) { try { console.log('spam') } catch (e) {} }", Error::OutputLimit);
    assert_err(&c, "'x'.repeat(5000)", Error::OutputLimit);
    assert_err(&c, "Array.from({length: 1000}, (_, i) => i)", Error::OutputLimit);
    // Under the limit is fine.
    assert_eq!(value(&c, "console.log('ok'); 'y'.repeat(100).length"), json!(100));
}

#[test]
fn a_hundred_megabyte_result_is_an_output_limit_not_a_crash() {
    let c = ctx_with(Limits { memory: 512 * 1024 * 1024, ..limits_ms(5000) }, ContextOptions::default());
    assert_err(&c, "'x'.repeat(100 * 1024 * 1024) + 'y'", Error::OutputLimit);
}

#[test]
fn job_limit() {
    let c = ctx_with(Limits { max_jobs: 1000, ..limits_ms(5000) }, ContextOptions::default());
    assert_err(&c, "async function f() { for (;;) await null } f()", Error::JobLimit);
    assert_eq!(value(&c, "(async () => { for (let i = 0; i < 100; i++) await null; return 'done' })()"), json!("done"));
}

#[test]
fn cancellation_from_another_thread() {
    let rt = sandvm::Runtime::new(Limits { timeout: None, ..Default::default() }).unwrap();
    let c = sandvm::Context::new(&rt, ContextOptions::default()).unwrap();
    // The guest says when it is running (a host function it calls); only then is it
    // cancelled, so the test checks a cancel mid-run, not one that happened to come first.
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    c.register_fn("started", move |(): ()| started_tx.send(()).map_err(|e| e.to_string())).unwrap();
    let handle = rt.cancel_handle();
    let t = std::thread::spawn(move || {
        let started = started_rx.recv_timeout(Duration::from_secs(30));
        handle.cancel();
        started
    });
    assert_eq!(c.eval("started(); while (true) {}"), Err(Error::Cancelled));
    assert_eq!(t.join().unwrap(), Ok(()), "the guest never said it started");
    assert_eq!(value(&c, "1"), json!(1));
    // A cancel while idle cancels the next run, once.
    rt.cancel_handle().cancel();
    assert!(rt.cancel_handle().is_cancelled());
    assert_eq!(c.eval("for (let i = 0; i < 1e7; i++) {}"), Err(Error::Cancelled));
    assert_eq!(value(&c, "2"), json!(2));
}

#[test]
fn spent_runtime_is_replaced_and_state_rebuilt() {
    let rt = sandvm::Runtime::new(limits_ms(100)).unwrap();
    let c = sandvm::Context::new(&rt, ContextOptions::default()).unwrap();
    c.set_global("cfg", &json!({"n": 1})).unwrap();
    c.register_fn("double", |(x,): (f64,)| Ok::<_, String>(x * 2.0)).unwrap();
    c.eval("var guestState = 5").unwrap();
    assert_eq!(c.eval("while (true) {}"), Err(Error::Timeout));
    // Host-provided globals and functions survive; guest state does not.
    assert_eq!(value(&c, "[cfg.n, double(4), typeof guestState]"), json!([1, 8, "undefined"]));
    assert_eq!(rt.generation(), 1);
}

#[test]
fn keep_after_interrupt_keeps_state() {
    let c = ctx_with(limits_ms(100), ContextOptions::default().keep_after_interrupt(true));
    c.eval("var kept = 'yes'").unwrap();
    assert_eq!(c.eval("while (true) {}"), Err(Error::Timeout));
    assert_eq!(value(&c, "kept"), json!("yes"));
    // Memory exhaustion still resets.
    c.runtime().set_limits(Limits { memory: 8 << 20, ..limits_ms(2000) });
    assert_eq!(c.eval("let a = []; for (;;) a.push({})"), Err(Error::MemoryLimit));
    assert_eq!(value(&c, "typeof kept"), json!("undefined"));
}
