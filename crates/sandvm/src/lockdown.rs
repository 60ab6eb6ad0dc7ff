//! JavaScript preludes run on a fresh context before any guest code: intrinsic freezing
//! (SES-style lockdown) and deterministic mode. They are compiled once per thread.

/// Freezes every intrinsic reachable from the global object and the hidden intrinsics
/// (generator, async and iterator prototypes, %TypedArray%, %ThrowTypeError%), makes the global
/// bindings of intrinsics read-only, and first turns the data properties most often shadowed on
/// instances (all of `Object.prototype`, `toString`/`constructor` and friends elsewhere) into
/// accessors so that the "override mistake" does not break ordinary code
/// (`Foo.prototype.toString = ...` still works on objects that inherit from a frozen prototype).
/// Assigning one of those on the intrinsic prototype itself throws a `TypeError`, in sloppy code
/// too (as in SES); other writes to frozen intrinsics are ignored in sloppy code and throw in
/// strict code.
pub(crate) const FREEZE: &str = r#"(function () {
  'use strict';
  const O = Object, g = globalThis;
  const freeze = O.freeze, isFrozen = O.isFrozen, getProto = O.getPrototypeOf,
    gopd = O.getOwnPropertyDescriptor, gopds = O.getOwnPropertyDescriptors,
    defineProperty = O.defineProperty, ownKeys = Reflect.ownKeys, apply = Reflect.apply;
  const trusted = [];
  // The engine's prepareStackTrace hook is an accessor whose setter a frozen Error would still
  // accept: pin it to undefined.
  if (gopd(g.Error, 'prepareStackTrace')) defineProperty(g.Error, 'prepareStackTrace', { value: undefined, writable: false, enumerable: false, configurable: false });
  const tameOverride = (proto, keys) => {
    if (!proto) return;
    for (const k of keys) {
      const d = gopd(proto, k);
      if (!d || !('value' in d) || !d.configurable || !d.writable) continue;
      const value = d.value;
      const getter = function () { return value; };
      trusted.push(getter);
      const setter = function (v) {
        if (this === proto) throw new TypeError('Cannot assign to read only property ' + String(k) + ' of frozen intrinsic');
        defineProperty(this, k, { value: v, writable: true, enumerable: true, configurable: true });
      };
      defineProperty(proto, k, { get: getter, set: setter, enumerable: d.enumerable, configurable: false });
    }
  };
  tameOverride(O.prototype, ownKeys(O.prototype));
  tameOverride(Array.prototype, ['constructor', 'toString', 'toLocaleString']);
  tameOverride(Function.prototype, ['constructor', 'toString', 'apply', 'call', 'bind']);
  const errs = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'InternalError', 'AggregateError'];
  for (const e of errs) if (typeof g[e] === 'function') tameOverride(g[e].prototype, ['constructor', 'name', 'message', 'toString']);
  if (typeof g.Promise === 'function') tameOverride(g.Promise.prototype, ['constructor', 'then', 'catch', 'finally']);
  const hidden = [];
  const tryPush = (f) => { try { hidden.push(f()); } catch (_) {} };
  tryPush(() => getProto(function* () {}));
  tryPush(() => getProto(async function () {}));
  tryPush(() => getProto(async function* () {}));
  tryPush(() => getProto(getProto((function* () {})())));
  tryPush(() => getProto(getProto((async function* () {})())));
  tryPush(() => getProto([][Symbol.iterator]()));
  tryPush(() => getProto(getProto([][Symbol.iterator]())));
  tryPush(() => getProto(''[Symbol.iterator]()));
  tryPush(() => getProto([].values().map((x) => x)));
  tryPush(() => getProto(new g.Map()[Symbol.iterator]()));
  tryPush(() => getProto(new g.Set()[Symbol.iterator]()));
  tryPush(() => getProto(/a/[Symbol.matchAll]('')));
  tryPush(() => getProto(g.Uint8Array));
  tryPush(() => gopd(Function.prototype, 'caller').get);
  tryPush(() => getProto(Iterator.from({ next() { return { done: true }; } })));
  const stack = hidden;
  for (const k of ownKeys(g)) {
    const d = gopd(g, k);
    if (!d) continue;
    if ('value' in d) {
      if (d.value !== g) stack.push(d.value);
      if (d.configurable) defineProperty(g, k, { writable: false, configurable: false });
    } else {
      stack.push(d.get, d.set);
    }
  }
  while (stack.length > 0) {
    const o = stack.pop();
    if (o === null || o === g || (typeof o !== 'object' && typeof o !== 'function')) continue;
    if (isFrozen(o)) continue;
    try { freeze(o); } catch (_) { continue; }
    stack.push(getProto(o));
    const ds = gopds(o);
    for (const k of ownKeys(ds)) {
      const d = ds[k];
      if ('value' in d) stack.push(d.value); else { stack.push(d.get); stack.push(d.set); }
    }
  }
  return trusted;
})"#;

/// Deterministic mode: seeded `Math.random`, a `Date` that reads the host-given clock and works
/// in UTC, no `performance`/`WeakRef`/`FinalizationRegistry`. Called with
/// `(seedLow, seedHigh, now)` where `now()` returns milliseconds since the epoch.
pub(crate) const DETERMINISTIC: &str = r#"(function (seedLo, seedHi, now) {
  'use strict';
  const g = globalThis, O = Object;
  const def = (o, k, v) => O.defineProperty(o, k, { value: v, writable: true, configurable: true, enumerable: false });
  let a = seedLo >>> 0, b = seedHi >>> 0, c = 0x9e3779b9 | 0, d = 1;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  def(Math, 'random', function random() { return next(); });
  delete g.performance;
  delete g.WeakRef;
  delete g.FinalizationRegistry;
  if (typeof g.Date !== 'function') return;
  const OD = g.Date, P = OD.prototype, call = (f, t, args) => Reflect.apply(f, t, args);
  const origTzo = P.getTimezoneOffset, origParse = OD.parse, origUTC = OD.UTC;
  const zoned = /(z|[+-]\d\d(:?\d\d)?|gmt|utc|ut)\s*\)?\s*$/i, dateOnly = /^[+-]?\d{4,6}(-\d\d(-\d\d)?)?$/;
  const parse = (s) => {
    s = String(s);
    const t = origParse(s);
    if (t !== t || zoned.test(s) || dateOnly.test(s.trim())) return t;
    return t - call(origTzo, new OD(t), []) * 60000;
  };
  const D = function Date(...args) {
    if (new.target === undefined) return call(P.toString, new OD(now()), []);
    let t;
    if (args.length === 0) t = now();
    else if (args.length === 1) {
      const v = args[0];
      t = (typeof v === 'string') ? parse(v) : (v instanceof OD ? call(P.getTime, v, []) : v);
    } else t = call(origUTC, OD, args);
    return Reflect.construct(OD, [t], new.target);
  };
  def(D, 'now', function now_() { return now(); });
  def(D, 'parse', function parse_(s) { return parse(s); });
  def(D, 'UTC', origUTC);
  O.defineProperty(D, 'prototype', { value: P, writable: false, enumerable: false, configurable: false });
  def(P, 'constructor', D);
  for (const n of ['FullYear', 'Month', 'Date', 'Day', 'Hours', 'Minutes', 'Seconds', 'Milliseconds']) {
    const get = P['getUTC' + n];
    def(P, 'get' + n, function () { return call(get, this, []); });
    if (n !== 'Day') {
      const set = P['setUTC' + n];
      def(P, 'set' + n, function (...a) { return call(set, this, a); });
    }
  }
  def(P, 'getYear', function getYear() { const y = call(P.getUTCFullYear, this, []); return y === y ? y - 1900 : y; });
  def(P, 'getTimezoneOffset', function getTimezoneOffset() { const t = call(P.getTime, this, []); return t === t ? 0 : NaN; });
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n) => (n < 10 ? '0' : '') + n;
  const year = (y) => (y < 0 ? '-' + String(-y).padStart(6, '0') : String(y).padStart(4, '0'));
  const valid = (d) => { const t = call(P.getTime, d, []); return t === t; };
  const dateStr = (d) => days[call(P.getUTCDay, d, [])] + ' ' + months[call(P.getUTCMonth, d, [])] + ' ' + p2(call(P.getUTCDate, d, [])) + ' ' + year(call(P.getUTCFullYear, d, []));
  const timeStr = (d) => p2(call(P.getUTCHours, d, [])) + ':' + p2(call(P.getUTCMinutes, d, [])) + ':' + p2(call(P.getUTCSeconds, d, [])) + ' GMT+0000 (Coordinated Universal Time)';
  def(P, 'toString', function toString() { return valid(this) ? dateStr(this) + ' ' + timeStr(this) : 'Invalid Date'; });
  def(P, 'toDateString', function toDateString() { return valid(this) ? dateStr(this) : 'Invalid Date'; });
  def(P, 'toTimeString', function toTimeString() { return valid(this) ? timeStr(this) : 'Invalid Date'; });
  const h12 = (h) => (h % 12 === 0 ? 12 : h % 12);
  const locDate = (d) => (call(P.getUTCMonth, d, []) + 1) + '/' + call(P.getUTCDate, d, []) + '/' + call(P.getUTCFullYear, d, []);
  const locTime = (d) => { const h = call(P.getUTCHours, d, []); return h12(h) + ':' + p2(call(P.getUTCMinutes, d, [])) + ':' + p2(call(P.getUTCSeconds, d, [])) + (h < 12 ? ' AM' : ' PM'); };
  def(P, 'toLocaleString', function toLocaleString() { return valid(this) ? locDate(this) + ', ' + locTime(this) : 'Invalid Date'; });
  def(P, 'toLocaleDateString', function toLocaleDateString() { return valid(this) ? locDate(this) : 'Invalid Date'; });
  def(P, 'toLocaleTimeString', function toLocaleTimeString() { return valid(this) ? locTime(this) : 'Invalid Date'; });
  O.defineProperty(g, 'Date', { value: D, writable: true, enumerable: false, configurable: true });
})"#;
