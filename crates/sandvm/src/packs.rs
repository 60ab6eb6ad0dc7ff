//! Capability packs a host grants one by one: timers, text encoding, base64, URL,
//! `structuredClone`, `queueMicrotask`, and a `fetch` that calls a host callback. None is
//! granted by default (the captured `console` is governed by [`crate::ContextOptions::console`]).

use std::sync::Arc;

/// A request made by guest code through the `fetch` capability.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FetchRequest {
    /// The URL, as the guest gave it (resolved by the host, which decides what is reachable).
    pub url: String,
    /// The method, upper-cased. By default, `GET`.
    pub method: String,
    /// Request headers, in order.
    pub headers: Vec<(String, String)>,
    /// The request body as text, if any.
    pub body: Option<String>,
}

/// What the host answers to a [`FetchRequest`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FetchResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, in order.
    pub headers: Vec<(String, String)>,
    /// The response body as text.
    pub body: String,
}

/// The host side of `fetch`: an `Err` rejects the guest's promise with a `TypeError`.
pub type FetchHandler = Arc<dyn Fn(FetchRequest) -> std::result::Result<FetchResponse, String> + Send + Sync>;

/// The capability packs granted to a context. Nothing by default.
///
/// | pack | what the guest gets |
/// | --- | --- |
/// | `timers` | `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval`, run inside the run's time budget: the run lasts until no timer is pending (or the timeout); timers never outlive the run |
/// | `text_encoding` | `TextEncoder`, `TextDecoder` (UTF-8) |
/// | `base64` | `atob`, `btoa` |
/// | `url` | `URL`, `URLSearchParams` |
/// | `structured_clone` | `structuredClone` (plain data, Date, RegExp, Map, Set, ArrayBuffer, typed arrays, errors; cycles kept) |
/// | `queue_microtask` | `queueMicrotask` |
/// | `fetch` | `fetch(url, init)` answered by the host's [`FetchHandler`] |
///
/// ```
/// let caps = sandvm::Capabilities::none().timers(true).url(true);
/// let opts = sandvm::ContextOptions::default().capabilities(caps);
/// # let _ = opts;
/// ```
#[derive(Clone, Default)]
pub struct Capabilities {
    pub(crate) timers: bool,
    pub(crate) text_encoding: bool,
    pub(crate) base64: bool,
    pub(crate) url: bool,
    pub(crate) structured_clone: bool,
    pub(crate) queue_microtask: bool,
    pub(crate) fetch: Option<FetchHandler>,
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capabilities")
            .field("timers", &self.timers)
            .field("text_encoding", &self.text_encoding)
            .field("base64", &self.base64)
            .field("url", &self.url)
            .field("structured_clone", &self.structured_clone)
            .field("queue_microtask", &self.queue_microtask)
            .field("fetch", &self.fetch.is_some())
            .finish()
    }
}

/// The names accepted by [`Capabilities::grant`], for command lines and configuration files.
pub const PACK_NAMES: &[&str] = &["timers", "text", "base64", "url", "structured-clone", "queue-microtask"];

impl Capabilities {
    /// No capability (the default).
    pub fn none() -> Capabilities {
        Capabilities::default()
    }

    /// Every pack except `fetch` (which needs a handler).
    pub fn all() -> Capabilities {
        Capabilities {
            timers: true,
            text_encoding: true,
            base64: true,
            url: true,
            structured_clone: true,
            queue_microtask: true,
            fetch: None,
        }
    }

    /// Grants a pack by name (see [`PACK_NAMES`]; `all` grants every one of them).
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] naming an unknown pack.
    pub fn grant(mut self, name: &str) -> crate::Result<Capabilities> {
        match name {
            "timers" => self.timers = true,
            "text" | "text-encoding" => self.text_encoding = true,
            "base64" => self.base64 = true,
            "url" => self.url = true,
            "structured-clone" | "structuredClone" => self.structured_clone = true,
            "queue-microtask" | "queueMicrotask" => self.queue_microtask = true,
            "console" => {}
            "all" => {
                let fetch = self.fetch.take();
                self = Capabilities { fetch, ..Capabilities::all() };
            }
            other => {
                return Err(crate::Error::InvalidArgument {
                    what: "capability".into(),
                    message: format!("unknown capability '{other}' (known: {}, all)", PACK_NAMES.join(", ")),
                })
            }
        }
        Ok(self)
    }

    /// Timers. By default, off.
    pub fn timers(mut self, on: bool) -> Self {
        self.timers = on;
        self
    }
    /// `TextEncoder`/`TextDecoder`. By default, off.
    pub fn text_encoding(mut self, on: bool) -> Self {
        self.text_encoding = on;
        self
    }
    /// `atob`/`btoa`. By default, off.
    pub fn base64(mut self, on: bool) -> Self {
        self.base64 = on;
        self
    }
    /// `URL`/`URLSearchParams`. By default, off.
    pub fn url(mut self, on: bool) -> Self {
        self.url = on;
        self
    }
    /// `structuredClone`. By default, off.
    pub fn structured_clone(mut self, on: bool) -> Self {
        self.structured_clone = on;
        self
    }
    /// `queueMicrotask`. By default, off.
    pub fn queue_microtask(mut self, on: bool) -> Self {
        self.queue_microtask = on;
        self
    }
    /// `fetch`, answered by `handler` (which decides what, if anything, is reachable). By
    /// default, off.
    pub fn fetch(mut self, handler: FetchHandler) -> Self {
        self.fetch = Some(handler);
        self
    }
}

/// Timers: the bookkeeping lives in the guest realm (callbacks never leave it); the host drives
/// time. Called with `now()` (milliseconds on the run's clock); returns the control object
/// `{ next(), fire(now), clear() }`.
pub(crate) const TIMERS: &str = r#"(function (now) {
  'use strict';
  const timers = new Map();
  let nextId = 1, seq = 0;
  const delay = (ms) => { ms = Number(ms); return ms > 0 && ms < 2147483648 ? ms : 0; };
  const add = (fn, ms, args, repeat) => {
    if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be a function');
    const id = nextId++;
    const d = delay(ms);
    timers.set(id, { fn, args, due: now() + d, interval: repeat ? Math.max(1, d) : -1, seq: seq++ });
    return id;
  };
  const def = (name, f) => Object.defineProperty(globalThis, name, { value: f, writable: true, configurable: true, enumerable: false });
  def('setTimeout', function setTimeout(fn, ms, ...args) { return add(fn, ms, args, false); });
  def('setInterval', function setInterval(fn, ms, ...args) { return add(fn, ms, args, true); });
  def('clearTimeout', function clearTimeout(id) { timers.delete(id); });
  def('clearInterval', function clearInterval(id) { timers.delete(id); });
  const earliest = () => {
    let best = null;
    for (const [id, t] of timers) if (best === null || t.due < best[1].due || (t.due === best[1].due && t.seq < best[1].seq)) best = [id, t];
    return best;
  };
  return {
    next() { const b = earliest(); return b === null ? -1 : b[1].due; },
    fire(at) {
      const b = earliest();
      if (b === null || b[1].due > at) return false;
      const [id, t] = b;
      if (t.interval >= 0) { t.due = Math.max(at, t.due) + t.interval; t.seq = seq++; } else timers.delete(id);
      Reflect.apply(t.fn, undefined, t.args);
      return true;
    },
    clear() { timers.clear(); },
  };
})"#;

/// `TextEncoder` / `TextDecoder` (UTF-8).
pub(crate) const TEXT: &str = r#"(function () {
  'use strict';
  const encode = (s) => {
    s = String(s);
    const out = [];
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; } else c = 0xfffd;
      } else if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  };
  const bytesOf = (input) => {
    if (input === undefined) return new Uint8Array(0);
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError('The "input" argument must be an ArrayBuffer or a view of one');
  };
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') { return encode(input); }
    encodeInto(src, dest) {
      const b = encode(src);
      const n = Math.min(b.length, dest.length);
      let cut = n;
      while (cut > 0 && cut < b.length && (b[cut] & 0xc0) === 0x80) cut--;
      dest.set(b.subarray(0, cut));
      let read = 0, bytes = 0;
      const s = String(src);
      for (let i = 0; i < s.length && bytes < cut; i++) {
        const c = s.codePointAt(i);
        bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        read += c >= 0x10000 ? 2 : 1;
        if (c >= 0x10000) i++;
      }
      return { read, written: cut };
    }
  }
  class TextDecoder {
    #fatal; #ignoreBOM;
    constructor(label = 'utf-8', options = {}) {
      if (!/^(unicode-1-1-)?utf-?8$/i.test(String(label).trim())) throw new RangeError(`The "${label}" encoding is not supported`);
      this.#fatal = !!(options && options.fatal);
      this.#ignoreBOM = !!(options && options.ignoreBOM);
    }
    get encoding() { return 'utf-8'; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input) {
      const b = bytesOf(input);
      let out = '', i = 0;
      if (!this.#ignoreBOM && b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3;
      const bad = () => { if (this.#fatal) throw new TypeError('The encoded data was not valid for encoding utf-8'); return '\ufffd'; };
      const parts = [];
      while (i < b.length) {
        const c = b[i];
        let cp = -1, n = 0;
        if (c < 0x80) { cp = c; n = 1; }
        else if (c >= 0xc2 && c < 0xe0) { n = 2; cp = c & 0x1f; }
        else if (c >= 0xe0 && c < 0xf0) { n = 3; cp = c & 0x0f; }
        else if (c >= 0xf0 && c < 0xf5) { n = 4; cp = c & 0x07; }
        if (n === 0) { out += bad(); i++; continue; }
        let ok = i + n <= b.length;
        for (let k = 1; ok && k < n; k++) { const d = b[i + k]; if ((d & 0xc0) !== 0x80) ok = false; else cp = (cp << 6) | (d & 63); }
        if (ok && ((n === 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
        if (!ok) { out += bad(); i++; continue; }
        out += String.fromCodePoint(cp);
        i += n;
        if (out.length > 8192) { parts.push(out); out = ''; }
      }
      parts.push(out);
      return parts.join('');
    }
  }
  for (const [k, v] of [['TextEncoder', TextEncoder], ['TextDecoder', TextDecoder]])
    Object.defineProperty(globalThis, k, { value: v, writable: true, configurable: true, enumerable: false });
})"#;

/// `URL` and `URLSearchParams` (the common subset of the WHATWG URL standard: special and
/// opaque schemes, credentials, IPv6 hosts, default ports, dot segments, relative resolution
/// against a base, percent-encoding of paths, queries and fragments).
pub(crate) const URL: &str = r#"(function () {
  'use strict';
  const special = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21', 'file:': '' };
  const enc = (s, keep) => s.replace(/[\u0000-\u0020"<>`#?{}\u007f-\uffff]|%(?![0-9a-fA-F]{2})/g, (ch) => keep.includes(ch) ? ch : encodeURIComponent(ch));
  const formEncode = (s) => encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const formDecode = (s) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch (_) { return s; } };
  const dots = (path) => {
    const out = [];
    const segs = path.split('/');
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i], last = i === segs.length - 1;
      if (s === '..' || s.toLowerCase() === '%2e%2e') { if (out.length > 1) out.pop(); if (last) out.push(''); }
      else if (s === '.' || s.toLowerCase() === '%2e') { if (last) out.push(''); }
      else out.push(s);
    }
    return out.join('/');
  };
  const re = /^([a-zA-Z][a-zA-Z0-9+.\-]*:)(\/\/(?:([^:@\/?#]*)(?::([^@\/?#]*))?@)?(\[[^\]]*\]|[^:\/?#]*)(?::([^\/?#]*))?)?([^?#]*)(\?[^#]*)?(#.*)?$/;
  const parse = (input) => {
    const m = re.exec(input);
    if (!m) return null;
    const protocol = m[1].toLowerCase();
    const isSpecial = protocol in special;
    if (isSpecial && m[2] === undefined && protocol !== 'file:') return null;
    let hostname = (m[5] || '');
    if (isSpecial) hostname = hostname.toLowerCase();
    if (/[\s<>^|]/.test(hostname) || (isSpecial && protocol !== 'file:' && hostname === '')) return null;
    let port = m[6] || '';
    if (port !== '' && (!/^\d+$/.test(port) || Number(port) > 65535)) return null;
    if (port !== '') port = String(Number(port));
    if (special[protocol] === port) port = '';
    let pathname = m[7] || '';
    if (m[2] !== undefined || isSpecial) { if (!pathname.startsWith('/')) pathname = '/' + pathname; pathname = dots(pathname); }
    return { protocol, username: m[3] || '', password: m[4] || '', hostname, port,
      hasAuthority: m[2] !== undefined, pathname: enc(pathname, ''), search: m[8] && m[8] !== '?' ? enc(m[8], '?') : '', hash: m[9] && m[9] !== '#' ? enc(m[9], '#') : '' };
  };
  const resolve = (input, base) => {
    if (re.test(input)) return parse(input);
    if (!base) return null;
    const b = base;
    if (input === '') return { ...b, hash: '' };
    if (input.startsWith('//')) return parse(b.protocol + input);
    const r = /^([^?#]*)(\?[^#]*)?(#.*)?$/.exec(input);
    const [, path, search, hash] = r;
    const out = { ...b };
    out.hash = hash && hash !== '#' ? enc(hash, '#') : '';
    if (path === '') { if (search !== undefined) out.search = search !== '?' ? enc(search, '?') : ''; return out; }
    out.search = search && search !== '?' ? enc(search, '?') : '';
    if (path.startsWith('/')) out.pathname = enc(dots(path), '');
    else { const dir = b.pathname.slice(0, b.pathname.lastIndexOf('/') + 1); out.pathname = enc(dots(dir + path), ''); }
    return out;
  };
  const S = Symbol('state');
  class URLSearchParams {
    #list = []; #url = null;
    constructor(init = '') {
      if (typeof init === 'object' && init !== null) {
        if (typeof init[Symbol.iterator] === 'function') { for (const pair of init) { const p = [...pair]; if (p.length !== 2) throw new TypeError('Each query pair must be an iterable [name, value] tuple'); this.#list.push([String(p[0]), String(p[1])]); } }
        else for (const k of Object.keys(init)) this.#list.push([k, String(init[k])]);
      } else this.#parse(String(init));
    }
    #parse(s) { this.#list = []; if (s.startsWith('?')) s = s.slice(1); for (const part of s.split('&')) { if (part === '') continue; const i = part.indexOf('='); this.#list.push(i < 0 ? [formDecode(part), ''] : [formDecode(part.slice(0, i)), formDecode(part.slice(i + 1))]); } }
    #update() { if (this.#url) { const q = this.toString(); this.#url[S].search = q ? '?' + q : ''; } }
    static _attach(p, url) { p.#url = url; }
    static _reset(p, s) { p.#parse(s); }
    get size() { return this.#list.length; }
    append(k, v) { this.#list.push([String(k), String(v)]); this.#update(); }
    delete(k, v) { k = String(k); this.#list = this.#list.filter(([a, b]) => a !== k || (v !== undefined && b !== String(v))); this.#update(); }
    get(k) { k = String(k); const e = this.#list.find(([a]) => a === k); return e ? e[1] : null; }
    getAll(k) { k = String(k); return this.#list.filter(([a]) => a === k).map(([, b]) => b); }
    has(k, v) { k = String(k); return this.#list.some(([a, b]) => a === k && (v === undefined || b === String(v))); }
    set(k, v) { k = String(k); v = String(v); const i = this.#list.findIndex(([a]) => a === k); if (i < 0) this.#list.push([k, v]); else { this.#list[i][1] = v; this.#list = this.#list.filter(([a], j) => a !== k || j === i); } this.#update(); }
    sort() { this.#list.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)); this.#update(); }
    forEach(fn, thisArg) { for (const [k, v] of this.#list) fn.call(thisArg, v, k, this); }
    *keys() { for (const [k] of this.#list) yield k; }
    *values() { for (const [, v] of this.#list) yield v; }
    *entries() { for (const [k, v] of this.#list) yield [k, v]; }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this.#list.map(([k, v]) => formEncode(k) + '=' + formEncode(v)).join('&'); }
    get [Symbol.toStringTag]() { return 'URLSearchParams'; }
  }
  class URL {
    #params;
    constructor(url, base) {
      let b = null;
      if (base !== undefined) { b = parse(String(base).trim()); if (!b) throw new TypeError(`Invalid base URL: ${base}`); }
      const st = resolve(String(url).trim(), b);
      if (!st) throw new TypeError(`Invalid URL: ${url}`);
      Object.defineProperty(this, S, { value: st });
      this.#params = new URLSearchParams(st.search);
      URLSearchParams._attach(this.#params, this);
    }
    static canParse(url, base) { try { new URL(url, base); return true; } catch (_) { return false; } }
    get protocol() { return this[S].protocol; }
    get username() { return this[S].username; }
    get password() { return this[S].password; }
    get hostname() { return this[S].hostname; }
    get port() { return this[S].port; }
    get host() { return this[S].hostname + (this[S].port ? ':' + this[S].port : ''); }
    get origin() { const s = this[S]; return s.protocol in special && s.protocol !== 'file:' ? s.protocol + '//' + this.host : 'null'; }
    get pathname() { return this[S].pathname; }
    get search() { return this[S].search; }
    set search(v) { v = String(v); this[S].search = v === '' || v === '?' ? '' : enc(v.startsWith('?') ? v : '?' + v, '?'); URLSearchParams._reset(this.#params, this[S].search); }
    get searchParams() { return this.#params; }
    get hash() { return this[S].hash; }
    set hash(v) { v = String(v); this[S].hash = v === '' || v === '#' ? '' : enc(v.startsWith('#') ? v : '#' + v, '#'); }
    set pathname(v) { this[S].pathname = enc(dots((String(v).startsWith('/') ? '' : '/') + String(v)), ''); }
    get href() {
      const s = this[S];
      const auth = s.username || s.password ? s.username + (s.password ? ':' + s.password : '') + '@' : '';
      return s.protocol + (s.hasAuthority || s.protocol in special ? '//' + auth + this.host : '') + s.pathname + s.search + s.hash;
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
    get [Symbol.toStringTag]() { return 'URL'; }
  }
  for (const [k, v] of [['URL', URL], ['URLSearchParams', URLSearchParams]])
    Object.defineProperty(globalThis, k, { value: v, writable: true, configurable: true, enumerable: false });
})"#;

/// `structuredClone`.
pub(crate) const STRUCTURED_CLONE: &str = r#"(function () {
  'use strict';
  const fail = (what) => { const e = new Error(`${what} could not be cloned.`); e.name = 'DataCloneError'; throw e; };
  const errors = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
  function structuredClone(value) {
    const seen = new Map();
    const walk = (v) => {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function')) {
        if (typeof v === 'symbol') fail(String(v));
        return v;
      }
      if (typeof v === 'function') fail(`${v.name ? 'function ' + v.name : 'function'}`);
      if (seen.has(v)) return seen.get(v);
      let out;
      if (Array.isArray(v)) { out = new Array(v.length); seen.set(v, out); for (const k of Object.keys(v)) out[k] = walk(v[k]); return out; }
      if (v instanceof Date) { out = new Date(v.getTime()); seen.set(v, out); return out; }
      if (v instanceof RegExp) { out = new RegExp(v.source, v.flags); seen.set(v, out); return out; }
      if (typeof Map === 'function' && v instanceof Map) { out = new Map(); seen.set(v, out); for (const [k, x] of v) out.set(walk(k), walk(x)); return out; }
      if (typeof Set === 'function' && v instanceof Set) { out = new Set(); seen.set(v, out); for (const x of v) out.add(walk(x)); return out; }
      if (typeof ArrayBuffer === 'function' && v instanceof ArrayBuffer) { out = v.slice(0); seen.set(v, out); return out; }
      if (typeof ArrayBuffer === 'function' && ArrayBuffer.isView(v)) {
        const C = Object.getPrototypeOf(v).constructor;
        out = v instanceof DataView ? new DataView(v.buffer.slice(0), v.byteOffset, v.byteLength) : new C(v);
        seen.set(v, out); return out;
      }
      if (v instanceof Error) {
        const C = errors[v.name] || Error;
        out = new C(v.message); seen.set(v, out);
        if ('cause' in v) out.cause = walk(v.cause);
        if (typeof v.stack === 'string') Object.defineProperty(out, 'stack', { value: v.stack, writable: true, configurable: true });
        return out;
      }
      if (v instanceof Boolean || v instanceof Number || v instanceof String) { out = Object(v.valueOf()); seen.set(v, out); return out; }
      const tag = Object.prototype.toString.call(v);
      if (tag !== '[object Object]' && tag !== '[object Arguments]') fail(tag.slice(8, -1) + ' object');
      out = {}; seen.set(v, out);
      for (const k of Object.keys(v)) out[k] = walk(v[k]);
      return out;
    };
    if (arguments.length === 0) throw new TypeError("structuredClone requires 1 argument");
    return walk(value);
  }
  Object.defineProperty(globalThis, 'structuredClone', { value: structuredClone, writable: true, configurable: true, enumerable: false });
})"#;

/// `fetch`, answered synchronously by a host function passed in as `call` (never a global).
pub(crate) const FETCH: &str = r#"(function (call) {
  'use strict';
  class Headers {
    #m = new Map();
    constructor(init) {
      if (init instanceof Headers) init = [...init];
      if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
      else if (init && typeof init === 'object') for (const k of Object.keys(init)) this.append(k, init[k]);
    }
    append(k, v) { k = String(k).toLowerCase(); v = String(v); this.#m.set(k, this.#m.has(k) ? this.#m.get(k) + ', ' + v : v); }
    set(k, v) { this.#m.set(String(k).toLowerCase(), String(v)); }
    get(k) { const v = this.#m.get(String(k).toLowerCase()); return v === undefined ? null : v; }
    has(k) { return this.#m.has(String(k).toLowerCase()); }
    delete(k) { this.#m.delete(String(k).toLowerCase()); }
    forEach(fn, t) { for (const [k, v] of this) fn.call(t, v, k, this); }
    *entries() { yield* [...this.#m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)); }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
  }
  class Response {
    #body; #used = false;
    constructor(body, init = {}) {
      this.#body = body == null ? '' : String(body);
      this.status = init.status === undefined ? 200 : init.status;
      this.statusText = init.statusText || '';
      this.headers = new Headers(init.headers);
      this.url = init.url || '';
      this.ok = this.status >= 200 && this.status < 300;
    }
    get bodyUsed() { return this.#used; }
    #take() { if (this.#used) return Promise.reject(new TypeError('Body is unusable: Body has already been read')); this.#used = true; return Promise.resolve(this.#body); }
    text() { return this.#take(); }
    json() { return this.#take().then(JSON.parse); }
  }
  async function fetch(input, init = {}) {
    const url = typeof input === 'string' ? input : input && typeof input.href === 'string' ? input.href : String(input);
    const headers = [...new Headers(init.headers)];
    const method = String(init.method || 'GET').toUpperCase();
    const body = init.body == null ? null : String(init.body);
    const r = call({ url, method, headers, body });
    return new Response(r.body, { status: r.status, headers: r.headers, url });
  }
  for (const [k, v] of [['fetch', fetch], ['Headers', Headers], ['Response', Response]])
    Object.defineProperty(globalThis, k, { value: v, writable: true, configurable: true, enumerable: false });
})"#;
