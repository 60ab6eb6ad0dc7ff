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
    assert_eq!(value(&c, "try { new TextDecoder('latin1') } catch (e) { e.name }"), json!("RangeError"));
    assert_eq!(
        value(&c, "const d = new Uint8Array(4); new TextEncoder().encodeInto('a€', d)"),
        json!({"read": 2, "written": 4})
    );
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
    assert_eq!(reqs[0].headers, vec![("x-a".to_string(), "1".to_string())]);
    assert_eq!(reqs[0].body.as_deref(), Some("hi"));
}
