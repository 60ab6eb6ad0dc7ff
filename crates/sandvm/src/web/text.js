(function (decoderNew, decode, encode) {
  'use strict';
  const need = (n, count, what) => { if (n < count) throw new TypeError(`${what}: ${count} argument${count > 1 ? 's' : ''} required, but only ${n} present.`); };
  const abView = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'buffer').get;
  const isView = ArrayBuffer.isView;
  const abLen = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
  const sabLen = typeof SharedArrayBuffer === 'function' ? Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength').get : null;
  const dvBuf = Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer').get;
  const dvOff = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteOffset').get;
  const dvLen = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength').get;
  const taOff = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'byteOffset').get;
  const taLen = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'byteLength').get;
  const call = (f, o) => Reflect.apply(f, o, []);
  const isBuffer = (x, getter) => { if (getter === null) return false; try { call(getter, x); return true; } catch (_) { return false; } };
  // BufferSource (ArrayBuffer, SharedArrayBuffer or a view of one) as a Uint8Array over the same bytes.
  const bytesOf = (input) => {
    if (input !== null && typeof input === 'object') {
      if (isView(input)) {
        if (input instanceof DataView) return new Uint8Array(call(dvBuf, input), call(dvOff, input), call(dvLen, input));
        return new Uint8Array(call(abView, input), call(taOff, input), call(taLen, input));
      }
      if (isBuffer(input, abLen) || isBuffer(input, sabLen)) return new Uint8Array(input);
    }
    throw new TypeError("Failed to execute 'decode' on 'TextDecoder': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'");
  };
  const dict = (o, what) => { if (o !== undefined && o !== null && typeof o !== 'object' && typeof o !== 'function') throw new TypeError(`${what}: The provided value is not of type 'object'.`); return o == null ? {} : o; };

  let brandE;
  class TextEncoder {
    #encoder = true;
    static {
      brandE = (o) => { if (o === null || typeof o !== 'object' || !(#encoder in o)) throw new TypeError('Illegal invocation'); };
    }
    get encoding() { brandE(this); return 'utf-8'; }
    encode(input = '') { brandE(this); return encode(String(input)); }
    encodeInto(source, destination) {
      brandE(this);
      need(arguments.length, 2, "Failed to execute 'encodeInto' on 'TextEncoder'");
      if (!(destination instanceof Uint8Array)) throw new TypeError("Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.");
      const s = String(source);
      const room = destination.length;
      let read = 0, written = 0;
      for (let i = 0; i < s.length;) {
        let c = s.charCodeAt(i), units = 1;
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); units = 2; }
        }
        if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
        const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (written + n > room) break;
        if (n === 1) destination[written] = c;
        else if (n === 2) { destination[written] = 0xc0 | (c >> 6); destination[written + 1] = 0x80 | (c & 63); }
        else if (n === 3) { destination[written] = 0xe0 | (c >> 12); destination[written + 1] = 0x80 | ((c >> 6) & 63); destination[written + 2] = 0x80 | (c & 63); }
        else { destination[written] = 0xf0 | (c >> 18); destination[written + 1] = 0x80 | ((c >> 12) & 63); destination[written + 2] = 0x80 | ((c >> 6) & 63); destination[written + 3] = 0x80 | (c & 63); }
        written += n; read += units; i += units;
      }
      return { read, written };
    }
  }

  class TextDecoder {
    #state; #encoding; #fatal; #ignoreBOM;
    constructor(label = 'utf-8', options = undefined) {
      const o = dict(options, "Failed to construct 'TextDecoder'");
      const fatal = !!o.fatal, ignoreBOM = !!o.ignoreBOM;
      const r = decoderNew(String(label), fatal, ignoreBOM);
      if (r === null) throw new RangeError(`Failed to construct 'TextDecoder': The encoding label provided ('${String(label)}') is invalid.`);
      this.#state = r[0]; this.#encoding = r[1]; this.#fatal = fatal; this.#ignoreBOM = ignoreBOM;
    }
    get encoding() { return this.#encoding; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input = undefined, options = undefined) {
      const st = this.#state;
      const o = dict(options, "Failed to execute 'decode' on 'TextDecoder'");
      const bytes = input === undefined ? new Uint8Array(0) : bytesOf(input);
      const pieces = decode(st, bytes, !!o.stream);
      return pieces.length === 1 ? pieces[0] : pieces.join('');
    }
  }
  const def = (C, names, tag) => {
    for (const n of names) {
      const d = Object.getOwnPropertyDescriptor(C.prototype, n);
      d.enumerable = true;
      Object.defineProperty(C.prototype, n, d);
    }
    Object.defineProperty(C.prototype, Symbol.toStringTag, { value: tag, configurable: true });
  };
  def(TextEncoder, ['encoding', 'encode', 'encodeInto'], 'TextEncoder');
  def(TextDecoder, ['encoding', 'fatal', 'ignoreBOM', 'decode'], 'TextDecoder');
  for (const [k, v] of [['TextEncoder', TextEncoder], ['TextDecoder', TextDecoder]])
    Object.defineProperty(globalThis, k, { value: v, writable: true, configurable: true, enumerable: false });
})
