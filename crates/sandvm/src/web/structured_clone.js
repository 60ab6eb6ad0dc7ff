(function (isProxy, tracksLength) {
  'use strict';
  // Everything the algorithm relies on is captured here, before any guest code runs.
  const { getPrototypeOf, keys, defineProperty, create } = Object;
  const { apply, ownKeys } = Reflect;
  const isArray = Array.isArray;
  const MapC = typeof Map === 'function' ? Map : null, SetC = typeof Set === 'function' ? Set : null;
  const mapSet = MapC && MapC.prototype.set, mapEntries = MapC && MapC.prototype.entries, mapHas = MapC && MapC.prototype.has;
  const setAdd = SetC && SetC.prototype.add, setValues = SetC && SetC.prototype.values, setHas = SetC && SetC.prototype.has;
  const seenGet = MapC.prototype.get;
  const getTime = typeof Date === 'function' ? Date.prototype.getTime : null;
  const reSource = Object.getOwnPropertyDescriptor(RegExp.prototype, 'source').get;
  const reFlags = Object.getOwnPropertyDescriptor(RegExp.prototype, 'flags').get;
  const AB = typeof ArrayBuffer === 'function' ? ArrayBuffer : null;
  const SAB = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : null;
  const desc = (C, k) => (C ? Object.getOwnPropertyDescriptor(C.prototype, k) : undefined);
  const abLen = desc(AB, 'byteLength')?.get, abMax = desc(AB, 'maxByteLength')?.get, abResizable = desc(AB, 'resizable')?.get;
  const abDetached = desc(AB, 'detached')?.get, abSlice = AB && AB.prototype.slice, abTransfer = AB && AB.prototype.transfer;
  const sabLen = desc(SAB, 'byteLength')?.get;
  const TA = AB ? getPrototypeOf(Uint8Array) : null;
  const taBuf = TA && Object.getOwnPropertyDescriptor(TA.prototype, 'buffer').get;
  const taOff = TA && Object.getOwnPropertyDescriptor(TA.prototype, 'byteOffset').get;
  const taLen = TA && Object.getOwnPropertyDescriptor(TA.prototype, 'length').get;
  const taTag = TA && Object.getOwnPropertyDescriptor(TA.prototype, Symbol.toStringTag).get;
  const dvBuf = desc(typeof DataView === 'function' ? DataView : null, 'buffer')?.get;
  const dvOff = desc(typeof DataView === 'function' ? DataView : null, 'byteOffset')?.get;
  const dvLen = desc(typeof DataView === 'function' ? DataView : null, 'byteLength')?.get;
  const typed = {};
  for (const n of ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'])
    if (typeof globalThis[n] === 'function') typed[n] = globalThis[n];
  const DV = typeof DataView === 'function' ? DataView : null;
  const boxes = { Number: Number.prototype.valueOf, String: String.prototype.valueOf, Boolean: Boolean.prototype.valueOf };
  if (typeof BigInt === 'function') boxes.BigInt = BigInt.prototype.valueOf;
  const objToString = Object.prototype.toString;
  const isView = AB ? AB.isView : null;
  const mapSize = MapC && Object.getOwnPropertyDescriptor(MapC.prototype, 'size').get;
  const setSize = SetC && Object.getOwnPropertyDescriptor(SetC.prototype, 'size').get;
  const symValueOf = Symbol.prototype.valueOf;
  const errorCtors = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
  const DOMEx = typeof DOMException === 'function' ? DOMException : null;
  const fail = (what) => {
    const msg = `${what} could not be cloned.`;
    if (DOMEx) throw new DOMEx(msg, 'DataCloneError');
    const e = new Error(msg);
    defineProperty(e, 'name', { value: 'DataCloneError', configurable: true, writable: true });
    defineProperty(e, 'code', { value: 25, configurable: true, writable: true });
    throw e;
  };
  const is = (f, v) => { if (!f) return false; try { apply(f, v, []); return true; } catch (_) { return false; } };

  function structuredClone(value, options = undefined) {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'structuredClone': 1 argument required, but only 0 present.");
    const seen = new MapC();
    const remember = (k, v) => apply(mapSet, seen, [k, v]);
    // Transfer list: each ArrayBuffer once, not detached, not shared; moved after validation.
    let transfer = [];
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object' && typeof options !== 'function') throw new TypeError("Failed to execute 'structuredClone': The provided value is not of type 'StructuredSerializeOptions'.");
      const t = options.transfer;
      if (t !== undefined) {
        if (t === null || typeof t !== 'object' || typeof t[Symbol.iterator] !== 'function') throw new TypeError("Failed to execute 'structuredClone': The provided value cannot be converted to a sequence.");
        transfer = [...t];
      }
    }
    const moving = new MapC();
    for (const b of transfer) {
      if (!is(abLen, b)) fail(is(sabLen, b) ? 'SharedArrayBuffer' : 'Value');
      if (apply(mapHas, moving, [b])) fail('ArrayBuffer (listed twice in transfer)');
      if (abDetached && apply(abDetached, b, [])) fail('ArrayBuffer (detached)');
      apply(mapSet, moving, [b, true]);
    }
    const copyBuffer = (b) => {
      if (abDetached && apply(abDetached, b, [])) fail('ArrayBuffer (detached)');
      if (abResizable && apply(abResizable, b, [])) {
        const out = new AB(apply(abLen, b, []), { maxByteLength: apply(abMax, b, []) });
        new Uint8Array(out).set(new Uint8Array(b));
        return out;
      }
      return apply(abSlice, b, [0]);
    };
    // Iterative walk (an explicit stack: a deep graph costs heap, under the memory limit, not
    // engine stack). A task either fills `target[key]` with the clone of `src`, or runs `done`.
    const tasks = [];
    // The values are read in key order now; the tasks are pushed last key first, so that
    // they are popped (and the copy's properties created) in the original order.
    const pushProps = (out, v) => {
      const ks = keys(v);
      const vals = ks.map((k) => v[k]);
      for (let i = ks.length - 1; i >= 0; i--) tasks.push([out, ks[i], vals[i]]);
    };
    const clone = (v) => {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function')) {
        if (typeof v === 'symbol') fail('Symbol()');
        return v;
      }
      const prior = apply(seenGet, seen, [v]);
      if (prior !== undefined) return prior;
      // A Proxy is an exotic object: never cloned (its traps are not run).
      if (isProxy(v)) fail('#<Object>');
      if (typeof v === 'function') fail(`function ${v.name || ''}`.trim());
      let out;
      if (isArray(v)) {
        out = new Array(v.length); remember(v, out);
        pushProps(out, v);
        return out;
      }
      // The tag is only a cheap hint; each kind is confirmed with a brand check (a getter or
      // method that throws on the wrong receiver), so a spoofed Symbol.toStringTag gains nothing.
      const tag = apply(objToString, v, []).slice(8, -1);
      if (tag === 'Date' && is(getTime, v)) { out = new Date(apply(getTime, v, [])); remember(v, out); return out; }
      if (tag === 'RegExp' && is(reFlags, v) && is(reSource, v)) {
        try { out = new RegExp(apply(reSource, v, []), apply(reFlags, v, [])); } catch (_) { fail('RegExp'); }
        remember(v, out); return out;
      }
      if (tag === 'ArrayBuffer' && is(abLen, v)) {
        // A transferred buffer is copied here and detached once the whole clone succeeded.
        out = copyBuffer(v);
        remember(v, out); return out;
      }
      if (tag === 'SharedArrayBuffer' && is(sabLen, v)) { remember(v, v); return v; }
      if (AB && isView(v)) {
        const name = apply(taTag, v, []);
        // A view made without a length on a resizable buffer keeps tracking its length.
        const tracks = tracksLength(v);
        if (name !== undefined) {
          const buf = clone(apply(taBuf, v, []));
          out = tracks ? new typed[name](buf, apply(taOff, v, [])) : new typed[name](buf, apply(taOff, v, []), apply(taLen, v, []));
        } else {
          const buf = clone(apply(dvBuf, v, []));
          out = tracks ? new DV(buf, apply(dvOff, v, [])) : new DV(buf, apply(dvOff, v, []), apply(dvLen, v, []));
        }
        remember(v, out); return out;
      }
      if (tag === 'Map' && is(mapSize, v)) {
        out = new MapC(); remember(v, out);
        const pairs = [...apply(mapEntries, v, [])];
        const tmp = new Array(pairs.length * 2);
        tasks.push({ done: () => { for (let i = 0; i < tmp.length; i += 2) apply(mapSet, out, [tmp[i], tmp[i + 1]]); } });
        for (let i = pairs.length - 1; i >= 0; i--) { tasks.push([tmp, 2 * i + 1, pairs[i][1]]); tasks.push([tmp, 2 * i, pairs[i][0]]); }
        return out;
      }
      if (tag === 'Set' && is(setSize, v)) {
        out = new SetC(); remember(v, out);
        const items = [...apply(setValues, v, [])];
        const tmp = new Array(items.length);
        tasks.push({ done: () => { for (const x of tmp) apply(setAdd, out, [x]); } });
        for (let i = items.length - 1; i >= 0; i--) tasks.push([tmp, i, items[i]]);
        return out;
      }
      const box = boxes[tag];
      if (box !== undefined && is(box, v)) { out = Object(apply(box, v, [])); remember(v, out); return out; }
      if (tag === 'Symbol' && is(symValueOf, v)) fail('Symbol object');
      if (tag === 'Error') {
        const name = v.name;
        const C = typeof name === 'string' && errorCtors[name] ? errorCtors[name] : Error;
        const msg = v.message;
        out = msg === undefined ? new C() : new C(String(msg)); remember(v, out);
        if ('cause' in v) tasks.push([out, 'cause', v.cause]);
        const stack = v.stack;
        if (typeof stack === 'string') defineProperty(out, 'stack', { value: stack, writable: true, configurable: true });
        return out;
      }
      if (tag !== 'Object' && tag !== 'Arguments') fail(`${tag} object`);
      out = {}; remember(v, out);
      pushProps(out, v);
      return out;
    };
    const root = clone(value);
    while (tasks.length > 0) {
      const t = tasks.pop();
      if (isArray(t)) {
        const c = clone(t[2]);
        defineProperty(t[0], t[1], { value: c, writable: true, enumerable: true, configurable: true });
      } else t.done();
    }
    // Transferred buffers are detached only once the whole clone succeeded.
    for (const b of transfer) apply(abTransfer, b, []);
    return root;
  }
  Object.defineProperty(globalThis, 'structuredClone', { value: structuredClone, writable: true, configurable: true, enumerable: false });
})
