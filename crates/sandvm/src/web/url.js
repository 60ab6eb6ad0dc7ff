(function (parse, setComponent, formParse, formSerialize) {
  'use strict';
  // Components from the host: 0 href, 1 protocol, 2 username, 3 password, 4 host, 5 hostname,
  // 6 port, 7 pathname, 8 search, 9 hash, 10 origin.
  const NAMES = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];
  const usv = (v) => { const s = String(v); return s.isWellFormed() ? s : s.toWellFormed(); };
  const need = (n, count, what) => { if (n < count) throw new TypeError(`${what}: ${count} argument${count > 1 ? 's' : ''} required, but only ${n} present.`); };
  const IteratorProto = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
  let listOf, attach, setQuery, items;

  class URLSearchParams {
    #list = [];
    #url = null;
    constructor(init = '') {
      if (init !== null && (typeof init === 'object' || typeof init === 'function')) {
        const iter = init[Symbol.iterator];
        if (iter !== undefined && iter !== null) {
          if (typeof iter !== 'function') throw new TypeError("Failed to construct 'URLSearchParams': The object's @@iterator is not callable.");
          for (const pair of init) {
            if (pair === null || (typeof pair !== 'object' && typeof pair !== 'function') || typeof pair[Symbol.iterator] !== 'function') throw new TypeError("Failed to construct 'URLSearchParams': The provided value cannot be converted to a sequence.");
            const p = [...pair];
            if (p.length !== 2) throw new TypeError("Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements");
            this.#list.push([usv(p[0]), usv(p[1])]);
          }
        } else {
          for (const k of Reflect.ownKeys(init)) {
            const d = Reflect.getOwnPropertyDescriptor(init, k);
            if (d === undefined || !d.enumerable) continue;
            if (typeof k === 'symbol') throw new TypeError("Failed to construct 'URLSearchParams': Cannot convert a Symbol value to a string");
            const v = usv(init[k]);
            const name = usv(k);
            const i = this.#list.findIndex((e) => e[0] === name);
            if (i >= 0) this.#list[i][1] = v; else this.#list.push([name, v]);
          }
        }
      } else {
        this.#parse(usv(init));
      }
    }
    #parse(s) {
      const flat = formParse(s);
      const list = [];
      for (let i = 0; i < flat.length; i += 2) list.push([flat[i], flat[i + 1]]);
      this.#list = list;
    }
    #update() {
      if (this.#url !== null) setQuery(this.#url, this.toString());
    }
    static {
      listOf = (p, s) => p.#parse(s);
      attach = (p, url) => { p.#url = url; };
    }
    get size() { return this.#list.length; }
    append(name, value) { need(arguments.length, 2, "Failed to execute 'append' on 'URLSearchParams'"); this.#list.push([usv(name), usv(value)]); this.#update(); }
    delete(name, value = undefined) {
      need(arguments.length, 1, "Failed to execute 'delete' on 'URLSearchParams'");
      const k = usv(name);
      if (value === undefined) this.#list = this.#list.filter((e) => e[0] !== k);
      else { const v = usv(value); this.#list = this.#list.filter((e) => e[0] !== k || e[1] !== v); }
      this.#update();
    }
    get(name) { need(arguments.length, 1, "Failed to execute 'get' on 'URLSearchParams'"); const k = usv(name); const e = this.#list.find((x) => x[0] === k); return e ? e[1] : null; }
    getAll(name) { need(arguments.length, 1, "Failed to execute 'getAll' on 'URLSearchParams'"); const k = usv(name); return this.#list.filter((x) => x[0] === k).map((x) => x[1]); }
    has(name, value = undefined) {
      need(arguments.length, 1, "Failed to execute 'has' on 'URLSearchParams'");
      const k = usv(name);
      if (value === undefined) return this.#list.some((e) => e[0] === k);
      const v = usv(value);
      return this.#list.some((e) => e[0] === k && e[1] === v);
    }
    set(name, value) {
      need(arguments.length, 2, "Failed to execute 'set' on 'URLSearchParams'");
      const k = usv(name), v = usv(value);
      const i = this.#list.findIndex((e) => e[0] === k);
      if (i < 0) this.#list.push([k, v]);
      else { this.#list[i][1] = v; this.#list = this.#list.filter((e, j) => e[0] !== k || j === i); }
      this.#update();
    }
    sort() {
      // Stable sort by UTF-16 code units of the names.
      const idx = this.#list.map((e, i) => [e, i]);
      idx.sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1]));
      this.#list = idx.map((x) => x[0]);
      this.#update();
    }
    forEach(callback, thisArg = undefined) {
      need(arguments.length, 1, "Failed to execute 'forEach' on 'URLSearchParams'");
      if (typeof callback !== 'function') throw new TypeError("Failed to execute 'forEach' on 'URLSearchParams': parameter 1 is not of type 'Function'.");
      for (let i = 0; i < this.#list.length; i++) { const [k, v] = this.#list[i]; Reflect.apply(callback, thisArg, [v, k, this]); }
    }
    keys() { return makeIterator(this, 'key'); }
    values() { return makeIterator(this, 'value'); }
    entries() { return makeIterator(this, 'key+value'); }
    toString() { return formSerialize(this.#list.flat()); }
    static {
      items = (p) => p.#list;
    }
  }

  // Live iterators (the spec's "value pairs to iterate over" is the current list).
  const IterProto = Object.create(IteratorProto);
  const iterState = new WeakMap();
  Object.defineProperties(IterProto, {
    next: {
      value: function next() {
        const st = iterState.get(this);
        if (st === undefined) throw new TypeError("next method called on an incompatible receiver");
        const list = items(st.target);
        if (st.index >= list.length) return { value: undefined, done: true };
        const [k, v] = list[st.index++];
        return { value: st.kind === 'key' ? k : st.kind === 'value' ? v : [k, v], done: false };
      },
      writable: true, enumerable: true, configurable: true,
    },
    [Symbol.toStringTag]: { value: 'URLSearchParams Iterator', configurable: true },
  });
  const makeIterator = (target, kind) => { items(target); const it = Object.create(IterProto); iterState.set(it, { target, kind, index: 0 }); return it; };
  Object.defineProperty(URLSearchParams.prototype, Symbol.iterator, { value: URLSearchParams.prototype.entries, writable: true, configurable: true });

  class URL {
    #state;
    #c;
    #query = null;
    constructor(url, base = undefined) {
      need(arguments.length, 1, "Failed to construct 'URL'");
      const r = parse(usv(url), base === undefined ? undefined : usv(base));
      if (r === null) throw new TypeError(base === undefined ? `Invalid URL: ${usv(url)}` : `Invalid URL: ${usv(url)} (base ${usv(base)})`);
      this.#state = r[0];
      this.#c = r[1];
    }
    static {
      setQuery = (u, s) => { u.#c = setComponent(u.#state, 8, s); };
    }
    static canParse(url, base = undefined) {
      need(arguments.length, 1, "Failed to execute 'canParse' on 'URL'");
      return parse(usv(url), base === undefined ? undefined : usv(base)) !== null;
    }
    static parse(url, base = undefined) {
      need(arguments.length, 1, "Failed to execute 'parse' on 'URL'");
      try { return new URL(url, base); } catch (_) { return null; }
    }
    get origin() { return this.#c[10]; }
    get searchParams() {
      if (this.#query === null) {
        const q = new URLSearchParams(this.#c[8]);
        attach(q, this);
        this.#query = q;
      }
      return this.#query;
    }
    #set(i, v) {
      this.#c = setComponent(this.#state, i, usv(v));
      if ((i === 0 || i === 8) && this.#query !== null) listOf(this.#query, this.#c[8]);
    }
    toString() { return this.#c[0]; }
    toJSON() { return this.#c[0]; }
    static {
      for (let i = 0; i < NAMES.length; i++) {
        Object.defineProperty(URL.prototype, NAMES[i], {
          get: { [NAMES[i]]() { return this.#c[i]; } }[NAMES[i]],
          set: { [NAMES[i]](v) { need(arguments.length, 1, `Failed to set the '${NAMES[i]}' property on 'URL'`); this.#set(i, v); } }[NAMES[i]],
          enumerable: true, configurable: true,
        });
      }
    }
  }
  const enumerable = (C, names) => {
    for (const n of names) {
      const d = Object.getOwnPropertyDescriptor(C.prototype, n);
      d.enumerable = true;
      Object.defineProperty(C.prototype, n, d);
    }
  };
  enumerable(URL, ['origin', 'searchParams', 'toString', 'toJSON']);
  enumerable(URLSearchParams, ['size', 'append', 'delete', 'get', 'getAll', 'has', 'set', 'sort', 'forEach', 'keys', 'values', 'entries', 'toString']);
  Object.defineProperty(URL.prototype, Symbol.toStringTag, { value: 'URL', configurable: true });
  Object.defineProperty(URLSearchParams.prototype, Symbol.toStringTag, { value: 'URLSearchParams', configurable: true });
  for (const [k, v] of [['URL', URL], ['URLSearchParams', URLSearchParams]])
    Object.defineProperty(globalThis, k, { value: v, writable: true, configurable: true, enumerable: false });
})
