//! Unit tests of the renderer (against recorded Node output) and of its safety properties.

use super::*;
use rquickjs::{Context, Runtime};
use std::time::{Duration, Instant};

/// Runs `f` on a fresh runtime/context (installed), then drops the runtime: a leaked
/// JSValue would make quickjs abort on `JS_FreeRuntime`, failing the test binary.
fn with_ctx<F: FnOnce(&Ctx<'_>)>(f: F) {
    let rt = Runtime::new().unwrap();
    let c = Context::full(&rt).unwrap();
    c.with(|ctx| {
        install(&ctx).unwrap();
        f(&ctx);
    });
    drop(c);
    drop(rt);
}

fn eval<'js>(ctx: &Ctx<'js>, src: &str) -> Value<'js> {
    ctx.eval(src).unwrap()
}

fn ins(ctx: &Ctx<'_>, src: &str) -> String {
    inspect(ctx, &eval(ctx, src), &InspectOptions::default())
}

fn ins_with(ctx: &Ctx<'_>, src: &str, opts: InspectOptions) -> String {
    inspect(ctx, &eval(ctx, src), &opts)
}

fn fmt(ctx: &Ctx<'_>, src: &str) -> String {
    let arr: rquickjs::Array = ctx.eval(src).unwrap();
    let args: Vec<Value> = arr.iter().map(|v| v.unwrap()).collect();
    format_args(ctx, &args)
}

fn counter(ctx: &Ctx<'_>) -> i32 {
    ctx.eval("globalThis.count").unwrap()
}

/// Expected strings are Node 20's `util.inspect(x, { breakLength: 80 })`.
const NODE_CASES: &[(&str, &str)] = &[
    ("undefined", "undefined"),
    ("null", "null"),
    ("-0", "-0"),
    ("[-0, 0, 1.5, -2, 1e21, 1e-7, NaN, Infinity]", "[ -0, 0, 1.5, -2, 1e+21, 1e-7, NaN, Infinity ]"),
    ("1n", "1n"),
    ("'abc'", "'abc'"),
    ("\"a'b\"", "\"a'b\""),
    ("'a\\'b\"c'", "`a'b\"c`"),
    ("'\\x00\\x7f\\n\\t\\x1b'", "'\\x00\\x7F\\n\\t\\x1B'"),
    ("Symbol('a')", "Symbol(a)"),
    ("true", "true"),
    ("(function f(){})", "[Function: f]"),
    ("(function(){})", "[Function (anonymous)]"),
    ("(class A{})", "[class A]"),
    ("(class B extends Array{})", "[class B extends Array]"),
    ("(async function f(){})", "[AsyncFunction: f]"),
    ("(function*g(){})", "[GeneratorFunction: g]"),
    ("(async function*ag(){})", "[AsyncGeneratorFunction: ag]"),
    ("Object.assign(function f(){},{a:1})", "[Function: f] { a: 1 }"),
    ("[1,2,3]", "[ 1, 2, 3 ]"),
    ("[]", "[]"),
    ("({})", "{}"),
    ("[1,,3]", "[ 1, <1 empty item>, 3 ]"),
    ("new Array(5)", "[ <5 empty items> ]"),
    ("Object.assign([1,2],{foo:'bar'})", "[ 1, 2, foo: 'bar' ]"),
    ("({a:1,'b-c':2})", "{ a: 1, 'b-c': 2 }"),
    ("(() => { class Foo { constructor(){ this.x = 1 } }; return new Foo() })()", "Foo { x: 1 }"),
    ("Object.create(null)", "[Object: null prototype] {}"),
    ("Object.assign(Object.create(null),{a:1})", "[Object: null prototype] { a: 1 }"),
    ("Object.create(Object.create(null))", "Object <[Object: null prototype] {}> {}"),
    ("({a:{b:{c:{d:1}}}})", "{ a: { b: { c: [Object] } } }"),
    ("[[[[1]]]]", "[ [ [ [Array] ] ] ]"),
    ("(() => { const c={}; c.self=c; return c })()", "<ref *1> { self: [Circular *1] }"),
    ("new Map([['a',1]])", "Map(1) { 'a' => 1 }"),
    ("new Set([1,2])", "Set(2) { 1, 2 }"),
    ("new Map()", "Map(0) {}"),
    ("new Map([[1,{a:[1,{b:{c:1}}]}]])", "Map(1) { 1 => { a: [ 1, [Object] ] } }"),
    ("(() => { class M extends Map {}; return new M([[1,2]]) })()", "M(1) [Map] { 1 => 2 }"),
    ("new Date(0)", "1970-01-01T00:00:00.000Z"),
    ("new Date(NaN)", "Invalid Date"),
    ("/a\\/b/gimsuy", "/a\\/b/gimsuy"),
    ("Object.assign(/a/,{x:1})", "/a/ { x: 1 }"),
    ("new Number(3)", "[Number: 3]"),
    ("new String('ab')", "[String: 'ab']"),
    ("Object(Symbol('s'))", "[Symbol: Symbol(s)]"),
    ("Promise.resolve(1)", "Promise { 1 }"),
    ("new Promise(()=>{})", "Promise { <pending> }"),
    ("(() => { const p = Promise.reject(3); p.catch(()=>{}); return p })()", "Promise { <rejected> 3 }"),
    ("new Uint8Array([1,2,3])", "Uint8Array(3) [ 1, 2, 3 ]"),
    ("new BigInt64Array([1n,-2n])", "BigInt64Array(2) [ 1n, -2n ]"),
    ("new Uint8Array([1,2]).buffer", "ArrayBuffer { [Uint8Contents]: <01 02>, byteLength: 2 }"),
    ("new DataView(new ArrayBuffer(2))", "DataView {\n  byteLength: 2,\n  byteOffset: 0,\n  buffer: ArrayBuffer { [Uint8Contents]: <00 00>, byteLength: 2 }\n}"),
    ("new WeakMap()", "WeakMap { <items unknown> }"),
    ("({get a(){return 1}, set b(v){}, get c(){return 1}, set c(v){}})", "{ a: [Getter], b: [Setter], c: [Getter/Setter] }"),
    ("({[Symbol('a')]:1, 'b-c':2, a:1})", "{ 'b-c': 2, a: 1, [Symbol(a)]: 1 }"),
    ("Object.defineProperty({}, 'hid', {value:1, enumerable:false})", "{}"),
    ("new Proxy({a:1},{})", "{ a: 1 }"),
    ("new Proxy(new Proxy([1],{}),{})", "[ 1 ]"),
    ("Array.from({length:120},(_, i)=>i)", "[\n   0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11,\n  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,\n  24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n  36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,\n  48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59,\n  60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71,\n  72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83,\n  84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,\n  96, 97, 98, 99,\n  ... 20 more items\n]"),
    ("(function(){ return arguments })(1,2)", "[Arguments] { '0': 1, '1': 2 }"),
    ("(() => { const e = new Error('m'); e.stack = 'Error: m'; e.foo = 1; return [e] })()", "[ [Error: m] { foo: 1 } ]"),
    ("(() => { class Foo extends Error{}; const e = new Foo('x'); e.stack = 'Error: x'; return e })()", "[Foo [Error]: x]"),
    ("(() => { const e = new Error('a', { cause: 1 }); e.stack = 'Error: a'; return e })()", "[Error: a] { [cause]: 1 }"),
    ("Object.create(Error.prototype)", "[Error]"),
    ("{ const a = [1]; a[5] = 2; a }", "[ 1, <4 empty items>, 2 ]"),
    ("{ const b = []; b[2**32-2] = 1; b }", "[ <4294967294 empty items>, 1 ]"),
    ("({length: 2**32-1})", "{ length: 4294967295 }"),
    ("({ 'a b': 1, __proto__x: 2, ['__proto__']: 3 })", "{ 'a b': 1, __proto__x: 2, ['__proto__']: 3 }"),
    ("(() => { const m = new Map(); const o = {m}; m.set('o', o); return o })()", "<ref *1> { m: Map(1) { 'o' => [Circular *1] } }"),
    ("({ s: 'a\\nb'.repeat(3) })", "{ s: 'a\\nba\\nba\\nb' }"),
    // Map and Set iterators preview what they have left (Node's previewEntries).
    ("new Map([[1,'a'],[2,{x:[1,2]}]]).entries()", "[Map Entries] { [ 1, 'a' ], [ 2, { x: [ 1, 2 ] } ] }"),
    ("{ const m = new Map([[1,'a'],[2,{x:[1,2]}]]); const it = m.keys(); it.next(); it }", "[Map Iterator] { 2 }"),
    ("new Map().keys()", "[Map Iterator] {  }"),
    ("{ const it = new Set([1]).values(); it.next(); it.next(); it }", "[Set Iterator] {  }"),
    ("{ const m=new Map([[1,1],[2,2],[3,3]]); const i=m.keys(); i.next(); m.delete(2); i }", "[Map Iterator] { 3 }"),
    ("Object.assign(new Map([[1,'a']]).values(), { p: 1 })", "[Map Iterator] { 'a', p: 1 }"),
    ("new Set([1]).entries()", "[Set Entries] { [ 1, 1 ] }"),
    ("{ const m = new Map([[1,'a']]); const i = m.entries(); m.set(2,'b'); i }", "[Map Entries] { [ 1, 'a' ], [ 2, 'b' ] }"),
    ("{ const it = new Map([['k', new Map([[1, 2]]).keys()]]).entries(); it }", "[Map Entries] { [ 'k', [Map Iterator] { 1 } ] }"),
];

#[test]
fn matches_node() {
    with_ctx(|ctx| {
        for (src, want) in NODE_CASES {
            assert_eq!(ins(ctx, src), *want, "source: {src}");
        }
    });
}

#[test]
fn class_ids_and_proxy_layout_match_engine() {
    with_ctx(|ctx| {
        let r = Raw::new(ctx);
        for (src, id) in [
            ("new Number(1)", class_id::NUMBER),
            ("new String('')", class_id::STRING),
            ("new Boolean(true)", class_id::BOOLEAN),
            ("Object(Symbol())", class_id::SYMBOL),
            ("(function(){ 'use strict'; return arguments })()", class_id::ARGUMENTS),
            ("new Function('a', 'return arguments')(1)", class_id::MAPPED_ARGUMENTS),
            ("(function*(){})", class_id::GENERATOR_FUNCTION),
            ("new ArrayBuffer(1)", class_id::ARRAY_BUFFER),
            ("new SharedArrayBuffer(1)", class_id::SHARED_ARRAY_BUFFER),
            ("Object(1n)", class_id::BIG_INT),
            ("new Proxy({}, {})", class_id::PROXY),
            ("(async function(){})", class_id::ASYNC_FUNCTION),
            ("(async function*(){})", class_id::ASYNC_GENERATOR_FUNCTION),
            ("new Map()", class_id::MAP),
            ("new Set()", class_id::SET),
            ("new Map().keys()", class_id::MAP_ITERATOR),
            ("new Set().values()", class_id::SET_ITERATOR),
        ] {
            assert_eq!(r.class_id(&eval(ctx, src)), id, "{src}");
        }
        let t = eval(ctx, "globalThis.tgt = {}; new Proxy(tgt, {})");
        let target = r.proxy_target(&t).unwrap();
        assert!(r.same(&target, &eval(ctx, "tgt")));
        let rev = eval(ctx, "{ const r = Proxy.revocable({}, {}); r.revoke(); r.proxy }");
        assert!(r.proxy_target(&rev).is_none());
    });
}

#[test]
fn typed_array_layout_matches_engine() {
    with_ctx(|ctx| {
        let r = Raw::new(ctx);
        let rab = "new ArrayBuffer(8, { maxByteLength: 16 })";
        for (src, tracks) in [
            (format!("new Uint8Array({rab})"), true),
            (format!("new Float64Array({rab}, 8)"), true),
            (format!("new DataView({rab}, 2)"), true),
            (format!("new Uint8Array({rab}, 0, 4)"), false),
            (format!("new DataView({rab}, 0, 4)"), false),
            ("new Uint8Array(4)".to_string(), false),
            ("new BigInt64Array(new ArrayBuffer(16))".to_string(), false),
            ("new Map()".to_string(), false),
            ("[1]".to_string(), false),
        ] {
            assert_eq!(r.view_tracks_length(&eval(ctx, &src)), tracks, "{src}");
        }
    });
}

#[test]
fn map_iterator_layout_matches_engine_and_preview_does_not_advance() {
    with_ctx(|ctx| {
        let r = Raw::new(ctx);
        let it = eval(
            ctx,
            "globalThis.m = new Map([['a', {}], ['b', 2], ['c', 3]]); globalThis.it = m.entries(); it.next(); it",
        );
        let (pairs, items, left) = r.map_iterator_preview(&it, 100).unwrap();
        assert!(pairs);
        assert_eq!((items.len(), left), (4, 2));
        assert_eq!(items[0].as_string().unwrap().to_string().unwrap(), "b");
        assert_eq!(r.number(&items[3]), Some(3.0));
        // Cut at `limit`, the count of what is left stays whole.
        let (_, cut, left) = r.map_iterator_preview(&it, 1).unwrap();
        assert_eq!((cut.len(), left), (2, 2));
        // Rendering did not consume the guest's iterator.
        let _ = ins(ctx, "it");
        let next: String = ctx.eval("it.next().value.join('=')").unwrap();
        assert_eq!(next, "b=2");
        // A Set's pairs are [v, v]; values(): the values only; a finished iterator: nothing.
        let set = eval(ctx, "globalThis.yo = { y: 1 }; new Set(['x', yo]).entries()");
        let (pairs, items, left) = r.map_iterator_preview(&set, 100).unwrap();
        assert!(pairs && items.len() == 4 && left == 2);
        assert!(r.same(&items[2], &items[3]) && r.same(&items[2], &eval(ctx, "yo")));
        let vals = eval(ctx, "new Map([[1, 'one']]).values()");
        let (pairs, items, _) = r.map_iterator_preview(&vals, 100).unwrap();
        assert!(!pairs && items[0].as_string().unwrap().to_string().unwrap() == "one");
        let done = eval(ctx, "{ const i = new Map([[1, 1]]).keys(); [...i]; i }");
        assert_eq!(r.map_iterator_preview(&done, 100).map(|(_, v, n)| (v.len(), n)), Some((0, 0)));
        assert!(r.map_iterator_preview(&eval(ctx, "[1].keys()"), 100).is_none());
        let long = ins(ctx, "new Set(Array.from({length:103},(_, i)=>i)).values()");
        assert!(
            long.starts_with("[Set Iterator] {\n  0,\n  1,\n") && long.ends_with("  99,\n  ... 3 more items\n}"),
            "{long}"
        );
    });
}

#[test]
fn top_level_and_nested_strings() {
    with_ctx(|ctx| {
        assert_eq!(fmt(ctx, "['abc']"), "abc");
        assert_eq!(fmt(ctx, "['a', 'b', {c:'d'}]"), "a b { c: 'd' }");
        let long = ins(ctx, "'x'.repeat(10010)");
        assert!(long.ends_with("'... 10 more characters"), "{}", &long[long.len() - 40..]);
        let short = ins_with(ctx, "'abcdef'", InspectOptions { max_string_length: 3, ..Default::default() });
        assert_eq!(short, "'abc'... 3 more characters");
    });
}

#[test]
fn format_args_placeholders() {
    with_ctx(|ctx| {
        assert_eq!(fmt(ctx, "['a %s b', 'x']"), "a x b");
        assert_eq!(fmt(ctx, "['%d', '42']"), "42");
        assert_eq!(fmt(ctx, "['%i', '42.9px']"), "42");
        assert_eq!(fmt(ctx, "['%f', '1.5e1']"), "15");
        assert_eq!(fmt(ctx, "['%j', {a:[1,'x'],b:undefined}]"), "{\"a\":[1,\"x\"]}");
        assert_eq!(fmt(ctx, "['%%s %s', 1]"), "%s 1");
        assert_eq!(fmt(ctx, "['%c x', 'css']"), " x");
        assert_eq!(fmt(ctx, "['%s', -0]"), "-0");
        assert_eq!(fmt(ctx, "['%s', {a:{b:1}}]"), "{ a: [Object] }");
        assert_eq!(fmt(ctx, "['%s', 5n]"), "5n");
        assert_eq!(fmt(ctx, "['%d', 5n]"), "5n");
        assert_eq!(fmt(ctx, "['%O', {a:1}]"), "{ a: 1 }");
        assert_eq!(fmt(ctx, "['%s %s', 1]"), "1 %s");
        assert_eq!(fmt(ctx, "[1, 'x']"), "1 x");
        assert_eq!(fmt(ctx, "['%x', 1]"), "%x 1");
        assert_eq!(fmt(ctx, "['%s', Symbol('q')]"), "Symbol(q)");
        assert_eq!(fmt(ctx, "['%j', (()=>{const c={}; c.c=c; return c})()]"), "[Circular]");
        assert_eq!(fmt(ctx, "['%s:%s', 'a']"), "a:%s");
        assert_eq!(fmt(ctx, "['%', 1]"), "% 1");
        assert_eq!(fmt(ctx, "['%s', null, undefined]"), "null undefined");
    });
}

#[test]
fn colors() {
    with_ctx(|ctx| {
        let o = InspectOptions { colors: true, ..Default::default() };
        assert_eq!(
            ins_with(ctx, "({a:1,s:'x',u:undefined,n:null,b:true,sym:Symbol('s'),f(){},d:new Date(0),r:/x/, big:1n})", o),
            "{\n  a: \x1b[33m1\x1b[39m,\n  s: \x1b[32m'x'\x1b[39m,\n  u: \x1b[90mundefined\x1b[39m,\n  n: \x1b[1mnull\x1b[22m,\n  b: \x1b[33mtrue\x1b[39m,\n  sym: \x1b[32mSymbol(s)\x1b[39m,\n  f: \x1b[36m[Function: f]\x1b[39m,\n  d: \x1b[35m1970-01-01T00:00:00.000Z\x1b[39m,\n  r: \x1b[31m/x/\x1b[39m,\n  big: \x1b[33m1n\x1b[39m\n}"
        );
    });
}

#[test]
fn getters_and_hooks_never_run() {
    with_ctx(|ctx| {
        let src = "globalThis.count = 0;
            ({ get a() { count++; throw new Error('boom') },
               toString() { count++; return 'x' }, valueOf() { count++; return 1 },
               [Symbol.toPrimitive]() { count++; return 1 }, toJSON() { count++; return 1 },
               [Symbol.for('nodejs.util.inspect.custom')]() { count++; return 'custom' } })";
        let v = eval(ctx, src);
        let out = inspect(ctx, &v, &InspectOptions::default());
        assert!(out.starts_with("{\n  a: [Getter],\n  toString: [Function: toString],"), "{out}");
        assert_eq!(fmt(ctx, "[globalThis.v2 = { get x() { count++; return 1 } }]"), "{ x: [Getter] }");
        assert_eq!(fmt(ctx, "['%s %d %j', v2, v2, v2]"), "{ x: [Getter] } NaN {}");
        // constructor / name / toStringTag / message / stack getters are not called either.
        let out = ins(
            ctx,
            "class K { static get name() { count++; return 'N' } get [Symbol.toStringTag]() { count++; return 'T' } };
             Object.defineProperty(K.prototype, 'constructor', { get() { count++; return K } });
             new K()",
        );
        assert_eq!(out, "{}");
        let e = ins(
            ctx,
            "{ const e = new Error('m'); Object.defineProperty(e, 'message', { get() { count++; return 'x' } });
             Object.defineProperty(e, 'name', { get() { count++; return 'x' } }); e }",
        );
        assert!(e.starts_with("Error\n    at "), "{e}");
        assert_eq!(counter(ctx), 0);
    });
}

#[test]
fn proxies_are_never_trapped() {
    with_ctx(|ctx| {
        let src = "globalThis.count = 0;
            const h = {};
            for (const t of ['get','set','has','ownKeys','getOwnPropertyDescriptor','getPrototypeOf',
                             'defineProperty','deleteProperty','apply','construct','isExtensible',
                             'preventExtensions','setPrototypeOf'])
                h[t] = () => { count++; throw new Error('trap ' + t) };
            new Proxy({ a: 1, b: [new Proxy([2], h)] }, h)";
        assert_eq!(ins(ctx, src), "{ a: 1, b: [ [ 2 ] ] }");
        assert_eq!(ins(ctx, "new Proxy(function f() {}, h)"), "[Function: f]");
        assert_eq!(ins(ctx, "new Proxy(new Map([[1, 2]]), h)"), "Map(1) { 1 => 2 }");
        assert_eq!(ins(ctx, "{ const r = Proxy.revocable({}, h); r.revoke(); r.proxy }"), "<Revoked Proxy>");
        assert_eq!(fmt(ctx, "['%j', new Proxy({ a: 1 }, h)]"), "{\"a\":1}");
        assert_eq!(counter(ctx), 0);
    });
}

#[test]
fn no_guest_code_via_engine_errors() {
    // Errors thrown by the engine call Error.prepareStackTrace / read
    // Error.stackTraceLimit: the renderer must not make the engine throw.
    with_ctx(|ctx| {
        let src = "globalThis.count = 0;
            Error.prepareStackTrace = () => { count++; return 'hooked' };
            Error.stackTraceLimit = { valueOf() { count++; return 10 } };
            const r = Proxy.revocable({}, {}); r.revoke();
            const ab = new ArrayBuffer(4); const ta = new Uint8Array(ab); const dv = new DataView(ab);
            ab.transfer();
            const rab = new ArrayBuffer(8, { maxByteLength: 16 }); const dv2 = new DataView(rab, 4); rab.resize(2);
            [r.proxy, ab, ta, dv, dv2]";
        let out = ins(ctx, src);
        assert!(out.contains("<Revoked Proxy>"), "{out}");
        assert!(out.contains("(detached)"), "{out}");
        assert!(out.contains("Uint8Array(0) []"), "{out}");
        assert_eq!(counter(ctx), 0);
    });
}

#[test]
fn originals_are_used_after_guest_tampering() {
    with_ctx(|ctx| {
        let src = "globalThis.count = 0;
            const m = new Map([[1, 2]]); const s = new Set([3]);
            Object.getPrototypeOf(new Map().entries()).next = function () { count++; return { done: true } };
            Map.prototype.entries = function () { count++; return [][Symbol.iterator]() };
            Map.prototype[Symbol.iterator] = Map.prototype.entries;
            Object.defineProperty(Map.prototype, 'size', { get() { count++; return 99 } });
            Object.defineProperty(Set.prototype, 'size', { get() { count++; return 99 } });
            Set.prototype.values = function () { count++; return [][Symbol.iterator]() };
            Date.prototype.toISOString = function () { count++; return 'fake' };
            Date.prototype.getTime = function () { count++; return NaN };
            Object.defineProperty(RegExp.prototype, 'flags', { get() { count++; return 'zz' } });
            Object.defineProperty(RegExp.prototype, 'source', { get() { count++; return 'zz' } });
            Function.prototype.toString = function () { count++; return 'class X {}' };
            Number.prototype.valueOf = function () { count++; return 7 };
            [m, s, new Date(0), /a/g, function f() {}, new Number(1)]";
        assert_eq!(
            ins(ctx, src),
            "[\n  Map(1) { 1 => 2 },\n  Set(1) { 3 },\n  1970-01-01T00:00:00.000Z,\n  /a/g,\n  [Function: f],\n  [Number: 1]\n]"
        );
        assert_eq!(counter(ctx), 0);
    });
}

#[test]
fn bounded_work() {
    with_ctx(|ctx| {
        let t = Instant::now();
        let big = ins(ctx, "{ const o = {}; for (let i = 0; i < 1e5; i++) o['k' + i] = i; o }");
        assert!(big.ends_with("k99: 99,\n  ... 99900 more properties\n}"), "{}", &big[big.len() - 60..]);
        assert_eq!(
            ins(ctx, "{ let a = []; for (let i = 0; i < 1e5; i++) a = [a]; globalThis.deep = a; a }"),
            "[ [ [ [Array] ] ] ]"
        );
        let deep = ins_with(ctx, "deep", InspectOptions { depth: usize::MAX, ..Default::default() });
        assert!(deep.contains("[Array]") && deep.len() < 10_000);
        let chain = ins(ctx, "{ let o = {}; for (let i = 0; i < 1e5; i++) o = Object.create(o); o }");
        assert!(chain.starts_with("Object <"), "{chain}");
        let huge = ins(ctx, "{ const a = new Array(2**32 - 1); a.x = 1; a }");
        assert_eq!(huge, "[ <4294967295 empty items>, x: 1 ]");
        let arr = ins(ctx, "Array.from({ length: 1e6 }, (_, i) => i)");
        assert!(arr.ends_with("... 999900 more items\n]"));
        let m = ins(ctx, "{ const m = new Map(); for (let i = 0; i < 1e5; i++) m.set(i, m); m }");
        assert!(m.starts_with("<ref *1> Map(100000) {\n  0 => [Circular *1],"), "{}", &m[..60]);
        assert!(m.ends_with("... 99900 more items\n}"));
        let s = ins(ctx, "'x'.repeat(1e7)");
        assert!(s.ends_with("... 9990000 more characters"));
        let ta = ins(ctx, "new Uint8Array(1e7)");
        assert!(ta.starts_with("Uint8Array(10000000) [") && ta.ends_with("... 9999900 more items\n]"));
        // Output cap: a wide object with long strings.
        let capped = ins_with(
            ctx,
            "{ const s = 'y'.repeat(9000); const a = []; for (let i = 0; i < 100; i++) a.push(Array(100).fill(s)); a }",
            InspectOptions { depth: 5, ..Default::default() },
        );
        assert!(capped.len() <= MAX_OUTPUT + 8 && capped.ends_with('…'));
        assert!(t.elapsed() < Duration::from_secs(20));
    });
}

#[test]
fn lone_surrogates_never_panic() {
    with_ctx(|ctx| {
        assert_eq!(ins(ctx, "'\\ud800'"), "'\\ud800'");
        assert_eq!(ins(ctx, "({ '\\udc00': '\\ud83d\\ude00' })"), "{ '\\udc00': '😀' }");
        assert_eq!(fmt(ctx, "['\\ud800']"), "\u{FFFD}");
        assert_eq!(fmt(ctx, "['%s|%s', '\\ud800', Symbol('\\udfff')]"), "\u{FFFD}|Symbol(\u{FFFD})");
    });
}

#[test]
fn works_without_install_and_across_contexts() {
    let rt = Runtime::new().unwrap();
    let c = Context::full(&rt).unwrap();
    c.with(|ctx| {
        // No install: coarser, but safe.
        let v: Value = ctx.eval("[new Map([[1, 2]]), { a: 1 }, new Date(0)]").unwrap();
        let out = inspect(&ctx, &v, &InspectOptions::default());
        assert!(out.contains("{ a: 1 }"), "{out}");
    });
    let c2 = Context::full(&rt).unwrap();
    c2.with(|ctx| install(&ctx).unwrap());
    c.with(|ctx| {
        install(&ctx).unwrap();
        let v: Value = ctx.eval("new Map([[1, new Set([2])]])").unwrap();
        assert_eq!(inspect(&ctx, &v, &InspectOptions::default()), "Map(1) { 1 => Set(1) { 2 } }");
    });
    drop(c);
    drop(c2);
    drop(rt);
}
