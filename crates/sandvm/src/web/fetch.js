(function (call) {
  'use strict';
  const need = (n, count, what) => { if (n < count) throw new TypeError(`${what}: ${count} argument${count > 1 ? 's' : ''} required, but only ${n} present.`); };
  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const normValue = (v) => String(v).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  const checkName = (n, what) => { n = String(n); if (!TOKEN.test(n)) throw new TypeError(`${what}: Invalid name`); return n.toLowerCase(); };
  const checkValue = (v, what) => { v = normValue(v); if (/[\0\r\n]/.test(v)) throw new TypeError(`${what}: Invalid value`); return v; };
  // UTF-8 without depending on the text pack.
  const utf8Encode = (s) => {
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
  const utf8Decode = (b) => {
    let i = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
    const parts = [];
    let out = '';
    while (i < b.length) {
      const c = b[i];
      let n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
      let cp = n === 1 ? c : n === 2 ? c & 0x1f : n === 3 ? c & 0x0f : c & 0x07;
      let k = 1;
      for (; n > 1 && k < n && i + k < b.length; k++) {
        const d = b[i + k];
        const lo = k === 1 && c === 0xe0 ? 0xa0 : k === 1 && c === 0xf0 ? 0x90 : 0x80;
        const hi = k === 1 && c === 0xed ? 0x9f : k === 1 && c === 0xf4 ? 0x8f : 0xbf;
        if (d < lo || d > hi) break;
        cp = (cp << 6) | (d & 63);
      }
      if (n === 0 || k < n) { out += '\ufffd'; i += Math.max(1, n === 0 ? 1 : k); }
      else { out += String.fromCodePoint(cp); i += n; }
      if (out.length > 8192) { parts.push(out); out = ''; }
    }
    parts.push(out);
    return parts.join('');
  };
  const bytesOf = (x) => (x instanceof ArrayBuffer ? new Uint8Array(x.slice(0)) : ArrayBuffer.isView(x) ? new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength)) : null);

  let headerList;
  class Headers {
    #list = [];
    #guard = 'none';
    constructor(init = undefined) {
      if (init === undefined || init === null) { if (init === null) throw new TypeError("Failed to construct 'Headers': The provided value is not of type 'HeadersInit'"); return; }
      if (typeof init !== 'object' && typeof init !== 'function') throw new TypeError("Failed to construct 'Headers': The provided value is not of type 'HeadersInit'");
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = [...pair];
          if (p.length !== 2) throw new TypeError("Failed to construct 'Headers': Invalid value");
          this.append(p[0], p[1]);
        }
      } else {
        for (const k of Reflect.ownKeys(init)) {
          const d = Reflect.getOwnPropertyDescriptor(init, k);
          if (d && d.enumerable) this.append(k, init[k]);
        }
      }
    }
    static { headerList = (h) => h.#list; }
    append(name, value) {
      need(arguments.length, 2, "Failed to execute 'append' on 'Headers'");
      const n = checkName(name, "Failed to execute 'append' on 'Headers'");
      this.#list.push([n, checkValue(value, "Failed to execute 'append' on 'Headers'")]);
    }
    delete(name) { need(arguments.length, 1, "Failed to execute 'delete' on 'Headers'"); const n = checkName(name, "Failed to execute 'delete' on 'Headers'"); this.#list = this.#list.filter((e) => e[0] !== n); }
    get(name) {
      need(arguments.length, 1, "Failed to execute 'get' on 'Headers'");
      const n = checkName(name, "Failed to execute 'get' on 'Headers'");
      const vs = this.#list.filter((e) => e[0] === n).map((e) => e[1]);
      return vs.length === 0 ? null : vs.join(', ');
    }
    getSetCookie() { return this.#list.filter((e) => e[0] === 'set-cookie').map((e) => e[1]); }
    has(name) { need(arguments.length, 1, "Failed to execute 'has' on 'Headers'"); const n = checkName(name, "Failed to execute 'has' on 'Headers'"); return this.#list.some((e) => e[0] === n); }
    set(name, value) {
      need(arguments.length, 2, "Failed to execute 'set' on 'Headers'");
      const n = checkName(name, "Failed to execute 'set' on 'Headers'"), v = checkValue(value, "Failed to execute 'set' on 'Headers'");
      const i = this.#list.findIndex((e) => e[0] === n);
      if (i < 0) this.#list.push([n, v]);
      else { this.#list[i] = [n, v]; this.#list = this.#list.filter((e, j) => e[0] !== n || j === i); }
    }
    // The "sort and combine" view: names sorted, values joined, set-cookie kept apart.
    #sorted() {
      const names = [...new Set(this.#list.map((e) => e[0]))].sort();
      const out = [];
      for (const n of names) {
        if (n === 'set-cookie') for (const e of this.#list) { if (e[0] === n) out.push([n, e[1]]); }
        else out.push([n, this.#list.filter((e) => e[0] === n).map((e) => e[1]).join(', ')]);
      }
      return out;
    }
    forEach(callback, thisArg = undefined) {
      if (typeof callback !== 'function') throw new TypeError("Failed to execute 'forEach' on 'Headers': parameter 1 is not of type 'Function'.");
      for (const [k, v] of this.#sorted()) Reflect.apply(callback, thisArg, [v, k, this]);
    }
    *entries() { yield* this.#sorted(); }
    *keys() { for (const [k] of this.#sorted()) yield k; }
    *values() { for (const [, v] of this.#sorted()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
  }

  // Body mixin: the body is a string or bytes, read once.
  const makeBody = (body, headers) => {
    if (body === undefined || body === null) return null;
    if (typeof body === 'string') { if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8'); return body; }
    const b = bytesOf(body);
    if (b !== null) return b;
    if (typeof URLSearchParams === 'function' && body instanceof URLSearchParams) {
      if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      return body.toString();
    }
    const s = String(body);
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
    return s;
  };
  const asText = (b) => (b === null ? '' : typeof b === 'string' ? b : utf8Decode(b));
  const asBytes = (b) => (b === null ? new Uint8Array(0) : typeof b === 'string' ? utf8Encode(b) : new Uint8Array(b));
  let bodyOf, setBody;
  class Body {
    #body = null; #used = false;
    static { bodyOf = (o) => o.#body; setBody = (o, b) => { o.#body = b; }; }
    get bodyUsed() { return this.#used; }
    #take() {
      if (this.#used) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
      if (this.#body !== null) this.#used = true;
      return Promise.resolve(this.#body);
    }
    text() { return this.#take().then(asText); }
    json() { return this.#take().then((b) => JSON.parse(asText(b))); }
    arrayBuffer() { return this.#take().then((b) => asBytes(b).buffer); }
    bytes() { return this.#take().then(asBytes); }
  }

  class Response extends Body {
    #status; #statusText; #headers; #url; #type;
    constructor(body = null, init = undefined) {
      super();
      const o = init == null ? {} : init;
      const status = o.status === undefined ? 200 : Number(o.status);
      if (!(status >= 200 && status <= 599) || !Number.isInteger(status)) throw new RangeError(`Failed to construct 'Response': The status provided (${o.status}) is outside the range [200, 599].`);
      this.#status = status;
      this.#statusText = o.statusText === undefined ? '' : String(o.statusText);
      this.#headers = new Headers(o.headers);
      this.#url = o.url === undefined ? '' : String(o.url);
      this.#type = 'default';
      if (body !== null && body !== undefined && [101, 204, 205, 304].includes(status)) throw new TypeError("Failed to construct 'Response': Response with null body status cannot have body");
      setBody(this, makeBody(body, this.#headers));
    }
    static json(data, init = undefined) {
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError('Value is not JSON serializable');
      const r = new Response(text, init);
      r.headers.set('content-type', 'application/json');
      return r;
    }
    static error() { const r = new Response(null, { status: 200 }); r.#status = 0; r.#type = 'error'; return r; }
    static redirect(url, status = 302) {
      if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError('Invalid status code');
      const r = new Response(null, { status, headers: { location: String(url) } });
      return r;
    }
    get status() { return this.#status; }
    get ok() { return this.#status >= 200 && this.#status < 300; }
    get statusText() { return this.#statusText; }
    get headers() { return this.#headers; }
    get url() { return this.#url; }
    get type() { return this.#type; }
    get redirected() { return false; }
    clone() {
      if (this.bodyUsed) throw new TypeError("Failed to execute 'clone' on 'Response': Response body is already used");
      const b = bodyOf(this);
      const r = new Response(null, { status: this.#status === 0 ? 200 : this.#status, statusText: this.#statusText, headers: this.#headers, url: this.#url });
      r.#status = this.#status; r.#type = this.#type;
      setBody(r, b === null || typeof b === 'string' ? b : new Uint8Array(b));
      return r;
    }
  }

  const FORBIDDEN = ['CONNECT', 'TRACE', 'TRACK'];
  const NORMAL = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'];
  let requestParts;
  class Request extends Body {
    #url; #method; #headers;
    constructor(input, init = undefined) {
      super();
      need(arguments.length, 1, "Failed to construct 'Request'");
      const o = init == null ? {} : init;
      let body = null;
      if (input instanceof Request) {
        this.#url = input.url; this.#method = input.method; this.#headers = new Headers(input.headers);
        if (o.body === undefined) { body = bodyOf(input); if (body !== null && input.bodyUsed) throw new TypeError("Failed to construct 'Request': Cannot construct a Request with a Request object that has already been used."); }
      } else {
        this.#url = typeof input === 'string' ? input : input && typeof input.href === 'string' ? input.href : String(input);
        this.#method = 'GET';
        this.#headers = new Headers();
      }
      if (o.method !== undefined) {
        const m = String(o.method);
        if (!TOKEN.test(m)) throw new TypeError(`Failed to construct 'Request': '${m}' is not a valid HTTP method.`);
        if (FORBIDDEN.includes(m.toUpperCase())) throw new TypeError(`Failed to construct 'Request': '${m}' HTTP method is unsupported.`);
        this.#method = NORMAL.includes(m.toUpperCase()) ? m.toUpperCase() : m;
      }
      if (o.headers !== undefined) this.#headers = new Headers(o.headers);
      if (o.body !== undefined && o.body !== null) {
        if (this.#method === 'GET' || this.#method === 'HEAD') throw new TypeError("Failed to construct 'Request': Request with GET/HEAD method cannot have body.");
        body = makeBody(o.body, this.#headers);
      }
      setBody(this, typeof body === 'string' || body === null ? body : new Uint8Array(body));
    }
    static { requestParts = (r) => ({ url: r.#url, method: r.#method, headers: [...r.#headers], body: bodyOf(r) }); }
    get url() { return this.#url; }
    get method() { return this.#method; }
    get headers() { return this.#headers; }
    clone() {
      if (this.bodyUsed) throw new TypeError("Failed to execute 'clone' on 'Request': Request body is already used");
      return new Request(this);
    }
  }

  async function fetch(input, init = undefined) {
    const req = new Request(input, init);
    if (req.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    const p = requestParts(req);
    const r = call({ url: p.url, method: p.method, headers: p.headers, body: p.body === null ? null : asText(p.body) });
    return new Response(r.body === '' && [101, 204, 205, 304].includes(r.status) ? null : r.body, { status: r.status, headers: r.headers, url: p.url });
  }
  for (const C of [Headers, Response, Request]) Object.defineProperty(C.prototype, Symbol.toStringTag, { value: C.name, configurable: true });
  Object.defineProperty(Body.prototype, Symbol.toStringTag, { value: 'Body', configurable: true });
  for (const [k, v] of [['fetch', fetch], ['Headers', Headers], ['Response', Response], ['Request', Request]])
    Object.defineProperty(globalThis, k, { value: v, writable: true, configurable: true, enumerable: false });
})
