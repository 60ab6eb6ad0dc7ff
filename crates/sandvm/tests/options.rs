//! Context options: intrinsics, lockdown (frozen intrinsics), deterministic mode.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::*;
use sandvm::{Clock, ContextOptions, Deterministic, Error, Intrinsics};
use serde_json::json;

#[test]
fn choose_intrinsics() {
    let none = Intrinsics {
        eval: false,
        date: false,
        math_random: false,
        regexp: false,
        proxy: false,
        map_set: false,
        typed_arrays: false,
        promise: false,
        weak_ref: false,
        performance: false,
        dom_exception: false,
    };
    let c = ctx_with(limits_ms(1000), ContextOptions::default().intrinsics(none));
    assert_eq!(
        value(&c, "[typeof Date, typeof eval, typeof Math.random, typeof RegExp, typeof Proxy, typeof Map, typeof Uint8Array, typeof Promise, typeof WeakRef, typeof performance]"),
        json!(vec!["undefined"; 10])
    );
    assert_eq!(value(&c, "[typeof JSON, typeof Math.max, typeof Object]"), json!(["object", "function", "function"]));
    let all = ctx();
    assert_eq!(value(&all, "[typeof Date, typeof eval, typeof performance, typeof require, typeof process, typeof std, typeof os, typeof setTimeout]"),
        json!(["function", "function", "undefined", "undefined", "undefined", "undefined", "undefined", "undefined"]));
}

#[test]
fn frozen_intrinsics_stop_prototype_pollution() {
    let c = ctx_with(limits_ms(2000), ContextOptions::default().freeze_intrinsics(true));
    // Sloppy code: silently ignored.
    assert_eq!(
        value(&c, "Object.prototype.polluted = 1; Array.prototype.push = null; [({}).polluted, typeof [].push]"),
        json!([null, "function"])
    );
    // Overwriting a tamed method on the intrinsic itself throws (as in SES).
    assert!(matches!(c.eval("Object.prototype.toString = null"), Err(Error::Exception { .. })));
    assert_eq!(value(&c, "typeof Object.prototype.toString"), json!("function"));
    // Strict code: throws.
    match c.eval("'use strict'; Object.prototype.polluted = 1") {
        Err(Error::Exception { name, .. }) => assert_eq!(name.as_deref(), Some("TypeError")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        value(&c, "[Object.isFrozen(Object.prototype), Object.isFrozen(Array.prototype), Object.isFrozen(Function.prototype), Object.isFrozen(Object.getPrototypeOf(function*(){})), Object.isFrozen(Math), Object.isFrozen(JSON)]"),
        json!([true, true, true, true, true, true])
    );
    // Intrinsic global bindings cannot be replaced, but the global object stays usable.
    assert_eq!(value(&c, "Array = null; var mine = 1; [typeof Array, mine]"), json!(["function", 1]));
    // The override mistake is tamed: ordinary code that shadows inherited methods still works.
    assert_eq!(
        value(&c, "function P() {} P.prototype.toString = function () { return 'P!' }; const o = {}; o.hasOwnProperty = 5; [String(new P()), o.hasOwnProperty]"),
        json!(["P!", 5])
    );
    assert_eq!(
        value(&c, "class E extends Error { constructor() { super('m'); this.name = 'E' } } new E().name"),
        json!("E")
    );
}

#[test]
fn rendering_is_unchanged_by_the_lockdown() {
    let c = ctx_with(limits_ms(2000), ContextOptions::default().freeze_intrinsics(true));
    for (src, want) in [
        ("({a: 1})", "{ a: 1 }"),
        ("[1, 'x']", "[ 1, 'x' ]"),
        ("new Map([[1, 2]])", "Map(1) { 1 => 2 }"),
        ("class Foo { constructor() { this.x = 1 } }; new Foo()", "Foo { x: 1 }"),
    ] {
        assert_eq!(c.eval(src).unwrap().display, want, "{src}");
    }
    assert!(c.eval("new TypeError('x')").unwrap().display.starts_with("TypeError: x"));
}

#[test]
fn deterministic_mode_is_reproducible() {
    let opts = ContextOptions::default()
        .deterministic(Some(Deterministic { seed: 42, clock: Clock::Fixed(1_700_000_000_000.0) }));
    let src = "[Math.random(), Math.random(), Date.now(), new Date().toISOString(), new Date().getHours(), new Date().getTimezoneOffset(), String(new Date(0)), typeof performance, typeof WeakRef]";
    let a = value(&ctx_with(limits_ms(1000), opts.clone()), src);
    let b = value(&ctx_with(limits_ms(1000), opts), src);
    assert_eq!(a, b);
    assert_ne!(a[0], a[1]);
    assert_eq!(a[2], json!(1_700_000_000_000i64));
    assert_eq!(a[3], json!("2023-11-14T22:13:20.000Z"));
    assert_eq!(a[4], json!(22));
    assert_eq!(a[5], json!(0));
    assert_eq!(a[6], json!("Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"));
    assert_eq!(a[7], json!("undefined"));
    let other_seed = ContextOptions::default().deterministic(Some(Deterministic { seed: 43, ..Default::default() }));
    assert_ne!(value(&ctx_with(limits_ms(1000), other_seed), "Math.random()"), a[0]);
    // Local-time forms are read as UTC, so results do not depend on the host's time zone.
    let det = ctx_with(limits_ms(1000), ContextOptions::default().deterministic(Some(Deterministic::default())));
    assert_eq!(value(&det, "new Date(2020, 0, 2, 3, 4, 5).toISOString()"), json!("2020-01-02T03:04:05.000Z"));
    assert_eq!(value(&det, "new Date('2020-01-02T03:04:05').toISOString()"), json!("2020-01-02T03:04:05.000Z"));
    assert_eq!(value(&det, "Date() === new Date().toString() && new Date() instanceof Date"), json!(true));
    assert_eq!(value(&det, "class D extends Date {}; new D(5).getTime()"), json!(5));
}

#[test]
fn deterministic_host_clock() {
    let ticks = Arc::new(AtomicU64::new(1000));
    let t = ticks.clone();
    let clock = Clock::Host(Arc::new(move || t.fetch_add(1000, Ordering::SeqCst) as f64));
    let c = ctx_with(limits_ms(1000), ContextOptions::default().deterministic(Some(Deterministic { seed: 1, clock })));
    assert_eq!(value(&c, "[Date.now(), Date.now()]"), json!([1000, 2000]));
}

#[test]
fn freeze_and_deterministic_together() {
    let c = ctx_with(
        limits_ms(2000),
        ContextOptions::default().freeze_intrinsics(true).deterministic(Some(Deterministic::default())),
    );
    assert_eq!(value(&c, "Math.random = () => 4; Date.now()"), json!(0));
    assert_ne!(value(&c, "Math.random()"), json!(4));
}
