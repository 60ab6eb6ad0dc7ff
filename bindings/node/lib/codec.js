// The value codec of sandvm for Node: structured values as tagged JSON, used on both sides
// (in Node by index.js, in the guest by the prelude the addon evaluates in every fresh
// context). Values cross as copies: JSON types plus undefined, non-finite numbers and -0,
// BigInt, Date, RegExp, Map, Set, ArrayBuffer, typed arrays (Buffer arrives as Uint8Array in
// the guest), errors, and cycles or shared references. Functions and symbols become undefined.
//
// A tagged value is an object whose first key is TAG: { "\u0000t": kind, v: ... }. Plain
// objects that happen to have the key TAG are escaped as kind "obj". Containers get ids in
// pre-order; a repeated container is { TAG: "ref", v: id }.
//
// decode() treats its input as hostile: it never calls a constructor or getter named by the
// input, creates own data properties only (a "__proto__" key stays a plain key), and refuses
// unknown kinds.
'use strict';

const TAG = '\u0000t';

const TYPED = [
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
  'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

function makeCodec(g) {
  const defineProperty = Object.defineProperty;
  const getPrototypeOf = Object.getPrototypeOf;
  const keys = Object.keys;
  const isArray = Array.isArray;
  const toStr = Object.prototype.toString;
  const typed = {};
  for (const name of TYPED) {
    if (typeof g[name] === 'function') typed[name] = g[name];
  }

  function put(o, k, v) {
    defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  }
  function tag(kind, v) {
    const o = {};
    put(o, TAG, kind);
    if (v !== undefined) put(o, 'v', v);
    return o;
  }
  function bytes(view) {
    const out = new Array(view.length);
    for (let i = 0; i < view.length; i++) out[i] = view[i];
    return out;
  }

  function encode(value) {
    const seen = new Map();
    let next = 0;
    function enc(x) {
      switch (typeof x) {
        case 'undefined': return tag('undef');
        case 'boolean': case 'string': return x;
        case 'number':
          if (x !== x) return tag('num', 'NaN');
          if (x === Infinity) return tag('num', 'Infinity');
          if (x === -Infinity) return tag('num', '-Infinity');
          if (x === 0 && 1 / x < 0) return tag('num', '-0');
          return x;
        case 'bigint': return tag('bigint', x.toString());
        case 'function': case 'symbol': return tag('undef');
      }
      if (x === null) return null;
      if (seen.has(x)) return tag('ref', seen.get(x));
      const id = next++;
      seen.set(x, id);
      const kind = toStr.call(x).slice(8, -1);
      if (isArray(x)) {
        const out = new Array(x.length);
        for (let i = 0; i < x.length; i++) out[i] = enc(x[i]);
        return out;
      }
      if (kind === 'Date') return tag('date', +x);
      if (kind === 'RegExp') return tag('regexp', [String(x.source), String(x.flags)]);
      if (kind === 'Map') {
        const out = [];
        for (const [k, v] of x) out.push([enc(k), enc(v)]);
        return tag('map', out);
      }
      if (kind === 'Set') {
        const out = [];
        for (const v of x) out.push(enc(v));
        return tag('set', out);
      }
      if (kind === 'ArrayBuffer') return tag('ab', bytes(new Uint8Array(x)));
      if (typed[kind] && ArrayBuffer.isView(x)) {
        if (kind === 'BigInt64Array' || kind === 'BigUint64Array') {
          return tag('typed', [kind, Array.prototype.map.call(x, (b) => b.toString())]);
        }
        return tag('typed', [kind, bytes(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))]);
      }
      if (kind === 'Error' || x instanceof Error) {
        return tag('error', [String(x.name), String(x.message), x.stack === undefined ? null : String(x.stack)]);
      }
      const out = {};
      const ks = keys(x);
      for (const k of ks) put(out, k, enc(x[k]));
      if (Object.prototype.hasOwnProperty.call(out, TAG)) return tag('obj', ks.map((k) => [k, out[k]]));
      return out;
    }
    return enc(value);
  }

  function decode(value) {
    const refs = [];
    function dec(x, depth) {
      if (depth > 2000) throw new RangeError('value nests too deeply');
      if (x === null || typeof x !== 'object') return x;
      if (isArray(x)) {
        const out = [];
        refs.push(out);
        for (let i = 0; i < x.length; i++) out.push(dec(x[i], depth + 1));
        return out;
      }
      if (!Object.prototype.hasOwnProperty.call(x, TAG)) {
        const out = {};
        refs.push(out);
        for (const k of keys(x)) put(out, k, dec(x[k], depth + 1));
        return out;
      }
      const v = x.v;
      switch (x[TAG]) {
        case 'undef': return undefined;
        case 'num': return v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : -0;
        case 'bigint': return BigInt(String(v));
        case 'ref': {
          if (typeof v !== 'number' || !(v >= 0 && v < refs.length)) throw new TypeError('bad reference');
          return refs[v];
        }
        case 'date': { const d = new Date(Number(v)); refs.push(d); return d; }
        case 'regexp': { const r = new RegExp(String(v[0]), String(v[1])); refs.push(r); return r; }
        case 'map': {
          const m = new Map();
          refs.push(m);
          for (const e of v) m.set(dec(e[0], depth + 1), dec(e[1], depth + 1));
          return m;
        }
        case 'set': {
          const s = new Set();
          refs.push(s);
          for (const e of v) s.add(dec(e, depth + 1));
          return s;
        }
        case 'ab': { const b = new Uint8Array(v).buffer; refs.push(b); return b; }
        case 'typed': {
          const Ctor = typed[v[0]];
          if (!Ctor) throw new TypeError('unknown typed array ' + String(v[0]));
          let out;
          if (v[0] === 'BigInt64Array' || v[0] === 'BigUint64Array') out = Ctor.from(v[1], (b) => BigInt(String(b)));
          else out = new Ctor(new Uint8Array(v[1]).buffer);
          refs.push(out);
          return out;
        }
        case 'error': {
          const e = new Error(String(v[1]));
          defineProperty(e, 'name', { value: String(v[0]), writable: true, configurable: true });
          if (v[2] !== null) defineProperty(e, 'stack', { value: String(v[2]), writable: true, configurable: true });
          refs.push(e);
          return e;
        }
        case 'obj': {
          const out = {};
          refs.push(out);
          for (const e of v) put(out, String(e[0]), dec(e[1], depth + 1));
          return out;
        }
        default: throw new TypeError('unknown tagged value');
      }
    }
    return dec(value, 0);
  }

  // True when the value is plain JSON that decode() returns unchanged (no tags needed).
  function isPlain(x, depth) {
    if (x === null || typeof x === 'string' || typeof x === 'boolean') return true;
    if (typeof x === 'number') return x === x && x !== Infinity && x !== -Infinity && !(x === 0 && 1 / x < 0);
    if (typeof x !== 'object' || depth > 64) return false;
    const p = getPrototypeOf(x);
    if (isArray(x)) {
      if (p !== Array.prototype) return false;
      for (let i = 0; i < x.length; i++) if (!(i in x) || !isPlain(x[i], depth + 1)) return false;
      return true;
    }
    if (p !== Object.prototype && p !== null) return false;
    for (const k of keys(x)) if (k === TAG || !isPlain(x[k], depth + 1)) return false;
    return true;
  }

  return { encode, decode, isPlain };
}

// Guest side: installs the finisher, decodes tagged globals and wraps host functions.
function install(g) {
  const codec = makeCodec(g);
  const hidden = (name, value) =>
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
  const wrap = (name, isAsync) => {
    const raw = g[name];
    if (typeof raw !== 'function') return;
    const call = (args) => codec.decode(raw(codec.encode(args)));
    // Arrow functions: no `this`, no `prototype`, not constructible.
    const f = isAsync ? async (...args) => call(args) : (...args) => call(args);
    Object.defineProperty(f, 'name', { value: name });
    hidden(name, f);
  };
  const glue = g.__sandvm_glue || { tagged: [], hosts: [], globals: [] };
  // Enumerable globals sandvm itself provides (console ...), left out of snapshots; taken
  // once per fresh engine context, before guest code ran.
  if (!g.__sandvm_provided) {
    const mine = new Set(glue.globals || []);
    hidden('__sandvm_provided', Object.keys(g).filter((k) => !mine.has(k)));
  }
  const provided = new Set(g.__sandvm_provided);
  for (const name of glue.tagged) g[name] = codec.decode(g[name]);
  for (const [name, isAsync] of glue.hosts) wrap(name, isAsync);
  hidden('__sandvm_glue', glue);
  hidden('__sandvm_finish', codec.encode);
  // The guest's enumerable own globals (builtins and glue are not enumerable), for
  // sandvm/vm's copy-back.
  hidden('__sandvm_snapshot', () => {
    const out = {};
    for (const k of Object.keys(g)) if (!provided.has(k) && typeof g[k] !== 'function') out[k] = g[k];
    return out;
  });
  return true;
}

module.exports = { makeCodec, install, TAG };
