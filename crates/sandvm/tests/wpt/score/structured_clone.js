// A structured-clone battery written for sandvm (the categories of web-platform-tests'
// html/webappapis/structured-clone battery, cases and checker our own): each case clones a
// value with structuredClone and compares the copy with the original by the HTML Standard's
// rules (types, prototypes, own enumerable string-keyed data, shared references and cycles
// kept, copies distinct from originals), or expects a DataCloneError. Ends with
// [passed, total, failures].
(() => {
  let pass = 0, total = 0; const fails = [];
  const tag = (v) => Object.prototype.toString.call(v).slice(8, -1);
  // Compares `o` (original) and `c` (clone); `map` pairs originals with their copies.
  function same(o, c, map, path) {
    if (typeof o !== typeof c) return `${path}: typeof ${typeof c} != ${typeof o}`;
    if (o === null || (typeof o !== 'object' && typeof o !== 'function')) {
      return Object.is(o, c) ? '' : `${path}: ${String(c)} != ${String(o)}`;
    }
    if (c === null) return `${path}: null`;
    if (map.has(o)) return map.get(o) === c ? '' : `${path}: shared reference not kept`;
    if (o === c) return `${path}: not copied`;
    map.set(o, c);
    const t = tag(o);
    if (tag(c) !== t) return `${path}: ${tag(c)} != ${t}`;
    const proto = Object.getPrototypeOf(o);
    const wantProto = t === 'Object' && (proto === null || !(proto === Object.prototype)) ? Object.prototype : proto;
    if (Object.getPrototypeOf(c) !== wantProto && !(o instanceof Error)) return `${path}: wrong prototype`;
    switch (t) {
      case 'Boolean': case 'Number': case 'String': case 'BigInt':
        if (!Object.is(o.valueOf(), c.valueOf())) return `${path}: boxed ${c.valueOf()} != ${o.valueOf()}`;
        break;
      case 'Date':
        if (!Object.is(o.getTime(), c.getTime())) return `${path}: time ${c.getTime()}`;
        break;
      case 'RegExp':
        if (o.source !== c.source || o.flags !== c.flags) return `${path}: /${c.source}/${c.flags}`;
        if (c.lastIndex !== 0) return `${path}: lastIndex ${c.lastIndex}`;
        break;
      case 'ArrayBuffer': {
        if (o.byteLength !== c.byteLength) return `${path}: byteLength ${c.byteLength}`;
        if (o.resizable !== c.resizable || o.maxByteLength !== c.maxByteLength) return `${path}: resizable/maxByteLength ${c.resizable} ${c.maxByteLength}`;
        const a = new Uint8Array(o), b = new Uint8Array(c);
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `${path}: byte ${i}`;
        break;
      }
      case 'DataView':
        if (o.byteOffset !== c.byteOffset || o.byteLength !== c.byteLength) return `${path}: view bounds`;
        return same(o.buffer, c.buffer, map, path + '.buffer');
      case 'Map': {
        if (o.size !== c.size) return `${path}: size ${c.size}`;
        const ce = [...c], oe = [...o];
        for (let i = 0; i < oe.length; i++) {
          const w = same(oe[i][0], ce[i][0], map, `${path}.key${i}`) || same(oe[i][1], ce[i][1], map, `${path}.value${i}`);
          if (w) return w;
        }
        break;
      }
      case 'Set': {
        if (o.size !== c.size) return `${path}: size ${c.size}`;
        const ce = [...c], oe = [...o];
        for (let i = 0; i < oe.length; i++) { const w = same(oe[i], ce[i], map, `${path}.item${i}`); if (w) return w; }
        break;
      }
      default:
        if (ArrayBuffer.isView(o)) {
          if (o.byteOffset !== c.byteOffset || o.length !== c.length) return `${path}: view bounds ${c.byteOffset}/${c.length}`;
          const w = same(o.buffer, c.buffer, map, path + '.buffer');
          if (w) return w;
        }
        if (o instanceof Error) {
          // The name picks the prototype among the standard errors (else Error).
          const std = ['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError'];
          const want = std.includes(o.name) ? o.name : 'Error';
          if (c.name !== want || c.message !== o.message) return `${path}: ${c.name}: ${c.message}`;
          if (Object.getPrototypeOf(c) !== globalThis[want].prototype) return `${path}: error prototype`;
          if (Object.prototype.hasOwnProperty.call(o, 'cause') && !Object.prototype.hasOwnProperty.call(c, 'cause')) return `${path}: cause lost`;
          if (Object.prototype.hasOwnProperty.call(o, 'cause')) { const w = same(o.cause, c.cause, map, path + '.cause'); if (w) return w; }
          return '';
        }
    }
    if (Array.isArray(o) && o.length !== c.length) return `${path}: length ${c.length}`;
    // Only plain objects and arrays carry their own properties over.
    if (t !== 'Object' && t !== 'Array') return '';
    const keys = Object.keys(o);
    const ckeys = Object.keys(c);
    if (keys.join() !== ckeys.join()) return `${path}: keys [${ckeys}] != [${keys}]`;
    for (const k of keys) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      const v = 'value' in d ? d.value : o[k];
      const w = same(v, c[k], map, `${path}.${k}`);
      if (w) return w;
    }
    if (Object.getOwnPropertySymbols(c).length) return `${path}: symbol keys copied`;
    return '';
  }
  const clones = (name, make, check) => {
    total++;
    try {
      const o = make();
      const c = structuredClone(o);
      const why = same(o, c, new Map(), 'value') || (check ? check(c, o) : '');
      if (why) fails.push(name + ': ' + why); else pass++;
    } catch (e) { fails.push(name + ': threw ' + (e && e.name) + ': ' + (e && e.message)); }
  };
  const refuses = (name, make, options) => {
    total++;
    try { structuredClone(make(), options); fails.push(name + ': no DataCloneError'); }
    catch (e) { if (e instanceof DOMException && e.name === 'DataCloneError') pass++; else fails.push(name + ': threw ' + (e && e.name)); }
  };
  // Primitives.
  for (const v of [undefined, null, true, false, 0, -0, NaN, Infinity, -Infinity, 1.5, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE,
    0n, -1n, 2n ** 200n, '', 'abc', '\0', '\ud800', '\udc00x', 'x'.repeat(10000), '😀 ünïcødé']) {
    clones(`primitive ${typeof v} ${String(v).slice(0, 12)}`, () => v);
  }
  // Boxed primitives.
  for (const f of [() => new Boolean(true), () => new Boolean(false), () => new Number(-0), () => new Number(NaN), () => new Number(3.25),
    () => new String(''), () => new String('boxed 😀'), () => Object(1n), () => Object(-(2n ** 70n))]) {
    clones('boxed ' + tag(f()) + ' ' + String(f().valueOf()).slice(0, 10), f);
  }
  // Dates and RegExps.
  for (const t of [0, -1, 1e12, 8.64e15, -8.64e15, NaN]) clones(`Date(${t})`, () => new Date(t));
  for (const r of [/a/, /a\/b/gimsuy, /[\u{1F600}]/u, new RegExp(''), /x/d, /\n\r/]) clones(`RegExp ${r}`, () => r);
  clones('RegExp lastIndex reset', () => { const r = /a/g; r.lastIndex = 3; return r; });
  // Buffers and views.
  clones('ArrayBuffer empty', () => new ArrayBuffer(0));
  clones('ArrayBuffer bytes', () => new Uint8Array([1, 2, 3, 255]).buffer);
  clones('ArrayBuffer resizable', () => { const b = new ArrayBuffer(4, { maxByteLength: 16 }); new Uint8Array(b).set([9, 8, 7, 6]); return b; });
  for (const T of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array]) {
    const big = T === BigInt64Array || T === BigUint64Array;
    clones(T.name, () => new T(big ? [1n, -1n, 7n] : [1, -1, 7.5]));
    clones(T.name + ' with offset', () => new T(new ArrayBuffer(64), 8, 2));
  }
  clones('DataView', () => new DataView(new Uint8Array([1, 2, 3, 4, 5]).buffer, 1, 3));
  clones('views of one buffer stay shared', () => { const b = new ArrayBuffer(8); return [new Uint8Array(b), new Uint16Array(b, 2, 1), new DataView(b)]; });
  clones('view and its buffer', () => { const b = new ArrayBuffer(4); return { b, v: new Int8Array(b) }; });
  clones('length-tracking view of a resizable buffer', () => new Uint8Array(new ArrayBuffer(4, { maxByteLength: 8 })), (c) => {
    c.buffer.resize(8);
    return c.length === 8 ? '' : 'view does not track the length';
  });
  clones('typed array with own property', () => Object.assign(new Uint8Array(2), { extra: 1 }), (c) => (c.extra === undefined ? '' : 'own property copied'));
  // Arrays and objects.
  clones('empty array', () => []);
  clones('array', () => [1, 'two', [3, [4]], { five: 5 }]);
  clones('sparse array', () => { const a = []; a[5] = 1; a[100] = 2; return a; });
  clones('array with holes and length', () => { const a = [1, , 3]; a.length = 10; return a; });
  clones('array with extra property', () => Object.assign([1, 2], { extra: 'x' }));
  clones('object', () => ({ a: 1, b: 'x', c: [true], d: { e: null } }));
  clones('null-prototype object', () => Object.assign(Object.create(null), { a: 1 }));
  clones('class instance becomes a plain object', () => new (class K { constructor() { this.v = 1; } })());
  clones('getter is read', () => ({ get g() { return 42; } }), (c) => (Object.getOwnPropertyDescriptor(c, 'g').value === 42 ? '' : 'getter not read'));
  clones('non-enumerable skipped', () => Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false }), (c) => ('hidden' in c ? 'hidden copied' : ''));
  clones('symbol keys skipped', () => ({ [Symbol('s')]: 1, a: 2 }));
  clones('numeric and string keys', () => ({ 2: 'b', 1: 'a', z: 'z', '-1': 'n' }));
  clones('shared reference', () => { const s = { n: 1 }; return { a: s, b: s, c: [s] }; });
  clones('cycle', () => { const o = { x: 1 }; o.self = o; return o; });
  clones('array cycle', () => { const a = [1]; a.push(a); return a; });
  clones('deep nesting', () => { let o = {}; const r = o; for (let i = 0; i < 200; i++) { o.n = {}; o = o.n; } return r; });
  // Map and Set.
  clones('Map', () => new Map([[1, 'a'], ['b', { c: 2 }], [{ k: 1 }, [1, 2]]]));
  clones('Set', () => new Set([1, 'a', [2], { o: 3 }, NaN, -0]));
  clones('Map with itself as key and value', () => { const m = new Map(); m.set(m, m); return m; });
  clones('Set containing itself', () => { const s = new Set(); s.add(s); return s; });
  clones('Map and Set with extra property', () => [Object.assign(new Map(), { x: 1 }), Object.assign(new Set(), { y: 2 })], (c) => (c[0].x === undefined && c[1].y === undefined ? '' : 'own property copied'));
  // Errors.
  for (const E of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError]) clones(E.name, () => new E('msg'));
  clones('Error with cause', () => new Error('m', { cause: { why: 'x' } }));
  clones('Error subclass becomes its standard base', () => new (class MyError extends RangeError {})('sub'));
  clones('Error with a name of another standard error', () => { const e = new Error('m'); e.name = 'TypeError'; return e; });
  clones('Error with unknown name becomes Error', () => { const e = new Error('m'); e.name = 'Custom'; return e; });
  clones('Error with empty message', () => new TypeError());
  // Values that cannot be cloned.
  refuses('function', () => function f() {});
  refuses('arrow function', () => () => 1);
  refuses('class', () => class {});
  refuses('symbol', () => Symbol('s'));
  refuses('symbol inside an object', () => ({ s: Symbol() }));
  refuses('function inside an array', () => [1, () => 1]);
  refuses('WeakMap', () => new WeakMap());
  refuses('WeakSet', () => new WeakSet());
  refuses('WeakRef', () => new WeakRef({}));
  refuses('Promise', () => Promise.resolve(1));
  refuses('Proxy', () => new Proxy({}, {}));
  refuses('generator', () => (function* () {})());
  refuses('Object(Symbol())', () => Object(Symbol('boxed')));
  refuses('Map with a function value', () => new Map([[1, () => 1]]));
  // transfer.
  total++;
  try {
    const b = new Uint8Array([1, 2, 3]).buffer;
    const c = structuredClone({ b, v: new Uint8Array(b) }, { transfer: [b] });
    if (b.byteLength === 0 && c.b.byteLength === 3 && c.v.buffer === c.b && c.v[2] === 3) pass++; else fails.push('transfer: original not detached or copy wrong');
  } catch (e) { fails.push('transfer: threw ' + (e && e.name)); }
  refuses('transfer of a non-transferable', () => ({}), { transfer: [{}] });
  refuses('transfer of one buffer twice', () => 1, { transfer: (() => { const b = new ArrayBuffer(1); return [b, b]; })() });
  refuses('transfer of a detached buffer', () => 1, { transfer: [(() => { const b = new ArrayBuffer(1); structuredClone(b, { transfer: [b] }); return b; })()] });
  total++;
  try { structuredClone(); fails.push('no argument: did not throw'); } catch (e) { if (e instanceof TypeError) pass++; else fails.push('no argument: threw ' + (e && e.name)); }
  return [pass, total, fails];
})()
