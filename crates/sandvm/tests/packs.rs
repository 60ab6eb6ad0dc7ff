//! Capability packs: none by default; each one granted explicitly.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use sandvm::{Capabilities, ContextOptions, Deterministic, Error, FetchRequest, FetchResponse, Limits};
use serde_json::json;

fn with_caps(caps: Capabilities) -> sandvm::Context {
    ctx_with(limits_ms(2000), ContextOptions::default().capabilities(caps))
}

#[test]
fn nothing_is_granted_by_default() {
    let c = ctx();
    assert_eq!(
        value(&c, "['setTimeout','setInterval','TextEncoder','TextDecoder','atob','btoa','URL','URLSearchParams','structuredClone','queueMicrotask','fetch'].filter(k => k in globalThis)"),
        json!([])
    );
    let all = with_caps(Capabilities::all());
    assert_eq!(
        value(&all, "['setTimeout','setInterval','TextEncoder','TextDecoder','atob','btoa','URL','URLSearchParams','structuredClone','queueMicrotask','fetch'].filter(k => !(k in globalThis))"),
        json!(["fetch"])
    );
    assert!(matches!(Capabilities::none().grant("fs"), Err(Error::InvalidArgument { .. })));
}

#[test]
fn timers_run_inside_the_budget() {
    let c = with_caps(Capabilities::none().timers(true));
    let t = Instant::now();
    assert_eq!(
        value(&c, "const order = []; setTimeout(() => order.push('b'), 30); setTimeout(() => order.push('a'), 10); const id = setTimeout(() => order.push('never'), 5); clearTimeout(id); new Promise(r => setTimeout(() => r(order), 50))"),
        json!(["a", "b"])
    );
    assert!(t.elapsed() >= Duration::from_millis(45));
    assert_eq!(value(&c, "let n = 0; const h = setInterval(() => { if (++n === 3) clearInterval(h) }, 1); new Promise(r => setTimeout(() => r(n), 20))"), json!(3));
    // A timer registered by a run that ends still fires within that run.
    c.eval("setTimeout(() => console.log('later'), 5); 'done'").unwrap();
    assert_eq!(c.take_console()[0].text, "later");
    // A never-cleared interval ends as a timeout, and no timer outlives the run.
    let short = ctx_with(
        limits_ms(100),
        ContextOptions::default().capabilities(Capabilities::none().timers(true)).keep_after_interrupt(true),
    );
    assert_eq!(short.eval("setInterval(() => {}, 10)"), Err(Error::Timeout));
    short.eval("globalThis.fired = 0").unwrap();
    assert_eq!(value(&short, "new Promise(r => setTimeout(() => r(fired), 30))"), json!(0));
    // Errors in timer callbacks surface.
    match c.eval("setTimeout(() => { throw new TypeError('in timer') }, 1); 1") {
        Err(Error::Exception { message, .. }) => assert_eq!(message, "in timer"),
        other => panic!("{other:?}"),
    }
    assert_eq!(value(&c, "try { setTimeout('code') } catch (e) { e.name }"), json!("TypeError"));
}

#[test]
fn deterministic_timers_use_a_virtual_clock() {
    let c = ctx_with(
        Limits { timeout: Some(Duration::from_secs(2)), ..Default::default() },
        ContextOptions::default()
            .capabilities(Capabilities::none().timers(true))
            .deterministic(Some(Deterministic::default())),
    );
    let t = Instant::now();
    assert_eq!(
        value(&c, "new Promise(r => setTimeout(() => r('an hour later'), 3600 * 1000))"),
        json!("an hour later")
    );
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn text_encoding() {
    let c = with_caps(Capabilities::none().text_encoding(true));
    assert_eq!(
        value(&c, "Array.from(new TextEncoder().encode('h€😀'))"),
        json!([104, 226, 130, 172, 240, 159, 152, 128])
    );
    assert_eq!(
        value(&c, "new TextDecoder().decode(new Uint8Array([104, 226, 130, 172, 240, 159, 152, 128]))"),
        json!("h€😀")
    );
    assert_eq!(value(&c, "new TextDecoder().decode(new Uint8Array([0xff, 0x41]))"), json!("\u{fffd}A"));
    assert_eq!(
        value(
            &c,
            "try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xc0])) } catch (e) { e.name }"
        ),
        json!("TypeError")
    );
    assert_eq!(value(&c, "try { new TextDecoder('nope') } catch (e) { e.name }"), json!("RangeError"));
    assert_eq!(value(&c, "try { new TextDecoder('iso-2022-kr') } catch (e) { e.name }"), json!("RangeError"));
    assert_eq!(
        value(&c, "[new TextDecoder(' Latin1 ').encoding, new TextDecoder('sjis').encoding]"),
        json!(["windows-1252", "shift_jis"])
    );
    assert_eq!(
        value(&c, "const d = new Uint8Array(4); new TextEncoder().encodeInto('a€', d)"),
        json!({"read": 2, "written": 4})
    );
}

#[test]
fn text_decoder_streams_and_knows_every_encoding() {
    let c = with_caps(Capabilities::none().text_encoding(true));
    // A character split across chunks survives streaming; without `stream` it is replaced.
    assert_eq!(
        value(&c, "const d = new TextDecoder(); const b = new TextEncoder().encode('é😀'); [d.decode(b.subarray(0, 1), { stream: true }) + d.decode(b.subarray(1, 3), { stream: true }) + d.decode(b.subarray(3)), new TextDecoder().decode(b.subarray(0, 1))]"),
        json!(["é😀", "\u{fffd}"])
    );
    // Legacy multi-byte encodings, BOM handling, exact replacement count.
    assert_eq!(value(&c, "new TextDecoder('shift_jis').decode(new Uint8Array([0x82, 0xa0]))"), json!("あ"));
    assert_eq!(value(&c, "new TextDecoder('utf-16le').decode(new Uint8Array([0xff, 0xfe, 0x41, 0]))"), json!("A"));
    assert_eq!(
        value(&c, "new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))"),
        json!("\u{feff}A")
    );
    assert_eq!(
        value(&c, "new TextDecoder().decode(new Uint8Array([0xf0, 0x8f, 0x92]))"),
        json!("\u{fffd}\u{fffd}\u{fffd}")
    );
    // WebIDL face: accessors on the prototype, brand checks, toStringTag.
    assert_eq!(
        value(&c, "const g = Object.getOwnPropertyDescriptor(TextDecoder.prototype, 'encoding').get; let err; try { g.call({}) } catch (e) { err = e.name } [typeof g, err, Object.prototype.toString.call(new TextDecoder()), Object.keys(new TextDecoder()).length]"),
        json!(["function", "TypeError", "[object TextDecoder]", 0])
    );
    // A large input decodes in bounded host pieces (here 8 MiB of 'a').
    assert_eq!(value(&c, "new TextDecoder().decode(new Uint8Array(8 << 20).fill(97)).length"), json!(8 << 20));
}

#[test]
fn text_decoder_input_is_bounded_by_the_memory_limit() {
    let mut limits = limits_ms(5000);
    limits.memory = 32 << 20;
    let c = ctx_with(limits, ContextOptions::default().capabilities(Capabilities::none().text_encoding(true)));
    // 12 MiB of bytes fit; the 12 Mi-character string (24 MiB as UTF-16 pieces plus the join) does not.
    match c.eval("new TextDecoder().decode(new Uint8Array(12 << 20).fill(0xe9)).length") {
        Err(Error::MemoryLimit) => {}
        other => panic!("expected a typed failure, got {other:?}"),
    }
}

#[test]
fn base64() {
    let c = with_caps(Capabilities::none().base64(true));
    assert_eq!(value(&c, "[btoa('hello'), atob('aGVsbG8=')]"), json!(["aGVsbG8=", "hello"]));
    assert_eq!(value(&c, "try { btoa('€') } catch (e) { e.name }"), json!("InvalidCharacterError"));
}

#[test]
fn url_and_search_params() {
    let c = with_caps(Capabilities::none().url(true));
    assert_eq!(
        value(&c, "const u = new URL('HTTPS://user:pw@Example.COM:443/a/./b/../c?x=1&y=two words#frag'); [u.href, u.protocol, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, u.origin, u.username, u.searchParams.get('y')]"),
        json!(["https://user:pw@example.com/a/c?x=1&y=two%20words#frag", "https:", "example.com", "example.com", "", "/a/c", "?x=1&y=two%20words", "#frag", "https://example.com", "user", "two words"])
    );
    assert_eq!(value(&c, "new URL('../x?q', 'http://h.com/a/b/c').href"), json!("http://h.com/a/x?q"));
    assert_eq!(value(&c, "new URL('http://h.com:8080').port"), json!("8080"));
    assert_eq!(value(&c, "try { new URL('not a url') } catch (e) { e.name }"), json!("TypeError"));
    assert_eq!(value(&c, "[URL.canParse('http://x'), URL.canParse('x')]"), json!([true, false]));
    assert_eq!(
        value(&c, "const p = new URLSearchParams('a=1&b=2&a=3'); p.append('c', 'x y'); p.set('b', '9'); p.delete('a'); [p.toString(), [...p.keys()], p.has('c'), p.size]"),
        json!(["b=9&c=x+y", ["b", "c"], true, 2])
    );
    assert_eq!(
        value(&c, "const u2 = new URL('http://h/?a=1'); u2.searchParams.append('b', '2'); u2.href"),
        json!("http://h/?a=1&b=2")
    );
    assert_eq!(value(&c, "new URLSearchParams({ q: 'a&b', n: 1 }).toString()"), json!("q=a%26b&n=1"));
}

#[test]
fn url_follows_the_whatwg_standard() {
    let c = with_caps(Capabilities::none().url(true));
    // Tabs and newlines stripped, IDNA, IPv4 forms, astral characters, blob origins.
    assert_eq!(value(&c, "new URL('ht\\ttp://exa\\nmple.org/').href"), json!("http://example.org/"));
    assert_eq!(value(&c, "new URL('https://faß.ExAmPlE/').hostname"), json!("xn--fa-hia.example"));
    assert_eq!(value(&c, "new URL('http://0x7f.1/').hostname"), json!("127.0.0.1"));
    assert_eq!(value(&c, "URL.canParse('http://192.168.0.257')"), json!(false));
    assert_eq!(value(&c, "new URL('https://localhost#🔥').hash"), json!("#%F0%9F%94%A5"));
    assert_eq!(value(&c, "new URL('blob:https://a.com/uuid').origin"), json!("https://a.com"));
    // Setters run the standard's state overrides.
    assert_eq!(
        value(&c, "const u = new URL('http://a.com/p'); u.protocol = 'https'; u.host = 'b.org:81'; u.username = 'me'; u.password = 'x y'; u.port = '443'; u.hash = 'h'; [u.href, u.port]"),
        json!(["https://me:x%20y@b.org/p#h", ""])
    );
    assert_eq!(
        value(
            &c,
            "const v = new URL('http://a/'); let e1; try { v.href = 'nope' } catch (x) { e1 = x.name } [e1, v.href]"
        ),
        json!(["TypeError", "http://a/"])
    );
    // Brand checks and WebIDL shape.
    assert_eq!(
        value(&c, "const d = Object.getOwnPropertyDescriptor(URL.prototype, 'href'); let e2; try { d.get.call({}) } catch (x) { e2 = x.name } [typeof d.set, d.enumerable, e2, Object.prototype.toString.call(new URL('http://a/')), Object.keys(new URL('http://a/')).length]"),
        json!(["function", true, "TypeError", "[object URL]", 0])
    );
    // Live iteration and percent-decoding of search params.
    assert_eq!(
        value(&c, "const p = new URLSearchParams('a=%F0%9F%94%A5&b=2&c=3'); const seen = []; for (const [k, v] of p) { seen.push(k + v); if (k === 'a') p.delete('b'); } [seen, p.get('a')]"),
        json!([["a🔥", "c3"], "🔥"])
    );
}

#[test]
fn structured_clone() {
    let c = with_caps(Capabilities::none().structured_clone(true));
    assert_eq!(
        value(&c, "const o = { d: new Date(5), m: new Map([[1, { x: 1 }]]), s: new Set([1]), a: [1, [2]], t: new Uint8Array([1, 2]) }; o.self = o; const k = structuredClone(o); [k !== o, k.self === k, k.d.getTime(), k.m.get(1).x, k.m.get(1) !== o.m.get(1), k.s.has(1), k.a[1][0], k.t[1], k.t.buffer !== o.t.buffer]"),
        json!([true, true, 5, 1, true, true, 2, 2, true])
    );
    assert_eq!(value(&c, "try { structuredClone({ f() {} }) } catch (e) { e.name }"), json!("DataCloneError"));
    assert_eq!(value(&c, "try { structuredClone(Symbol()) } catch (e) { e.name }"), json!("DataCloneError"));
}

#[test]
fn structured_clone_keeps_buffers_and_transfers() {
    let c = with_caps(Capabilities::none().structured_clone(true).base64(true));
    // Views of one buffer stay views of one (cloned) buffer.
    assert_eq!(
        value(&c, "const b = new ArrayBuffer(8); const k = structuredClone({ x: new Uint8Array(b, 2, 2), y: new DataView(b) }); [k.x.buffer === k.y.buffer, k.x.byteOffset, k.x.length, k.x.buffer !== b]"),
        json!([true, 2, 2, true])
    );
    // Resizable buffers keep maxByteLength; Object(BigInt) clones; DataCloneError is a DOMException.
    assert_eq!(
        value(&c, "const r = structuredClone(new ArrayBuffer(2, { maxByteLength: 16 })); const big = structuredClone(Object(5n)); let e; try { structuredClone(() => 1) } catch (x) { e = x } [r.resizable, r.maxByteLength, typeof big, big.valueOf() === 5n, e instanceof DOMException, e.name, e.code]"),
        json!([true, 16, "object", true, true, "DataCloneError", 25])
    );
    // transfer: the original is detached only after a successful clone; duplicates are refused.
    assert_eq!(
        value(&c, "const t = new Uint8Array([1, 2, 3]).buffer; const out = structuredClone({ t }, { transfer: [t] }); let dup; try { const z = new ArrayBuffer(1); structuredClone(z, { transfer: [z, z] }) } catch (x) { dup = x.name } [t.byteLength, t.detached, new Uint8Array(out.t)[2], dup]"),
        json!([0, true, 3, "DataCloneError"])
    );
    assert_eq!(
        value(&c, "const t2 = new ArrayBuffer(4); try { structuredClone({ t2, f() {} }, { transfer: [t2] }) } catch (_) {} t2.detached"),
        json!(false)
    );
    // A deep graph is cloned without engine recursion.
    assert_eq!(
        value(&c, "(() => { let d = {}; const top = d; for (let i = 0; i < 20000; i++) { d.n = {}; d = d.n } let k = structuredClone(top), n = 0; while (k.n) { k = k.n; n++ } return n })()"),
        json!(20000)
    );
}

#[test]
fn queue_microtask() {
    let c = with_caps(Capabilities::none().queue_microtask(true));
    assert_eq!(
        value(&c, "const out = []; queueMicrotask(() => out.push(2)); out.push(1); Promise.resolve().then(() => out)"),
        json!([1, 2])
    );
}

#[test]
fn fetch_calls_the_host() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<FetchRequest>::new()));
    let log = seen.clone();
    let handler: sandvm::FetchHandler = Arc::new(move |req: FetchRequest| {
        log.lock().unwrap().push(req.clone());
        if req.url.starts_with("https://api.example/") {
            Ok(FetchResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: json!({"path": req.url, "method": req.method}).to_string(),
            })
        } else {
            Err(format!("{} is not reachable", req.url))
        }
    });
    let c = with_caps(Capabilities::none().fetch(handler));
    assert_eq!(
        value(&c, "(async () => { const r = await fetch('https://api.example/x', { method: 'post', headers: { 'X-A': '1' }, body: 'hi' }); return [r.ok, r.status, r.headers.get('Content-Type'), (await r.json()).method] })()"),
        json!([true, 200, "application/json", "POST"])
    );
    assert_eq!(
        value(&c, "fetch('http://169.254.169.254/').then(() => 'reached', e => e.message)"),
        json!("fetch failed: http://169.254.169.254/ is not reachable")
    );
    let reqs = seen.lock().unwrap();
    // A string body brings its Content-Type, as in the Fetch Standard; names are sorted.
    assert_eq!(
        reqs[0].headers,
        vec![
            ("content-type".to_string(), "text/plain;charset=UTF-8".to_string()),
            ("x-a".to_string(), "1".to_string())
        ]
    );
    assert_eq!(reqs[0].body.as_deref(), Some("hi"));
}

#[test]
fn fetch_classes_follow_the_standard() {
    let handler: sandvm::FetchHandler = Arc::new(|req: FetchRequest| {
        Ok(FetchResponse {
            status: 201,
            headers: vec![("set-cookie".into(), "a=1".into()), ("set-cookie".into(), "b=2".into())],
            body: req.body.unwrap_or_default(),
        })
    });
    let c = with_caps(Capabilities::none().fetch(handler));
    // Response: arrayBuffer/bytes, clone, bodyUsed, status range, Response.json.
    assert_eq!(
        value(&c, "(async () => { const r = new Response('héllo', { status: 202 }); const c2 = r.clone(); const ab = await r.arrayBuffer(); let again; try { await r.text() } catch (e) { again = e.name } let range; try { new Response('', { status: 99 }) } catch (e) { range = e.name } const j = Response.json({ a: 1 }); return [ab.byteLength, await c2.text(), r.bodyUsed, again, range, j.headers.get('content-type'), (await j.json()).a, r.headers.get('content-type')] })()"),
        json!([6, "héllo", true, "TypeError", "RangeError", "application/json", 1, "text/plain;charset=UTF-8"])
    );
    // Headers: validation, combining, set-cookie apart, sorted iteration, brand checks.
    assert_eq!(
        value(&c, "const h = new Headers([['B', ' 2 '], ['a', '1']]); h.append('b', '3'); h.append('Set-Cookie', 'x'); h.append('set-cookie', 'y'); let bad; try { h.append('bad name', 'v') } catch (e) { bad = e.name } let brand; try { Headers.prototype.get.call({}, 'a') } catch (e) { brand = e.name } [[...h], h.get('b'), h.getSetCookie(), bad, brand]"),
        json!([[["a", "1"], ["b", "2, 3"], ["set-cookie", "x"], ["set-cookie", "y"]], "2, 3", ["x", "y"], "TypeError", "TypeError"])
    );
    // Request: method normalisation, GET with a body refused, fetch(Request), bytes bodies.
    assert_eq!(
        value(&c, "(async () => { const q = new Request('https://h/x', { method: 'post', body: new Uint8Array([104, 105]) }); let get; try { new Request('https://h/', { body: 'x' }) } catch (e) { get = e.name } let trace; try { new Request('https://h/', { method: 'TRACE' }) } catch (e) { trace = e.name } const r = await fetch(q.clone()); return [q.method, get, trace, r.status, await r.text(), r.headers.getSetCookie().length] })()"),
        json!(["POST", "TypeError", "TypeError", 201, "hi", 2])
    );
}
