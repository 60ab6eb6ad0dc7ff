// The test framework injected into every test file's context: describe/it/test/expect and
// hooks, Jest-style. The host lists the tests with __sandvm_test_list() and runs each one as
// a separate call to __sandvm_test_run(id), so each test has its own time limit.
//
// Everything on the runner's own path (registration, listing, running, reporting) uses only
// intrinsics captured here, before any test code runs, and syntax that consults no prototype
// (indexed loops, string concatenation, null-prototype descriptors): a test file that replaces
// Array.prototype methods, JSON, String, Promise or Map cannot hide tests, forge a pass or
// crash the host. Results go to the host as strings, which the host parses and validates.
(function () {
  'use strict';
  const O = Object, defineProperty = O.defineProperty, isFinite_ = Number.isFinite;
  const Str = String, stringify = JSON.stringify, PromiseCtor = Promise, ErrorCtor = Error;
  const reflectApply = Reflect.apply, J = JSON;
  // `await` takes the engine's internal path for native promises only while these two keep
  // their original values; pin them so that test code cannot reroute the runner's awaits.
  defineProperty(PromiseCtor.prototype, 'then', { __proto__: null, writable: false, configurable: false });
  defineProperty(PromiseCtor.prototype, 'constructor', { __proto__: null, writable: false, configurable: false });
  const append = (arr, v) => {
    defineProperty(arr, arr.length, { __proto__: null, value: v, writable: true, enumerable: true, configurable: true });
  };
  const quote = (s) => reflectApply(stringify, J, [Str(s)]);
  let TOKEN = null;
  const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const ASYM = Symbol('asymmetric matcher');

  // ---------------------------------------------------------------- formatting
  function fmt(v, seen, depth) {
    seen = seen || [];
    depth = depth || 0;
    try {
      switch (typeof v) {
        case 'string': return JSON.stringify(v);
        case 'number': return Object.is(v, -0) ? '-0' : Str(v);
        case 'bigint': return v + 'n';
        case 'symbol': return v.toString();
        case 'function': return '[Function ' + (v.name || 'anonymous') + ']';
        case 'undefined': return 'undefined';
        case 'boolean': return Str(v);
      }
      if (v === null) return 'null';
      if (v[ASYM]) return v.toString();
      if (seen.includes(v)) return '[Circular]';
      if (v instanceof Error) return '[' + v.name + ': ' + v.message + ']';
      if (v instanceof Date) return isNaN(v) ? 'Invalid Date' : v.toISOString();
      if (v instanceof RegExp) return Str(v);
      if (depth > 4) return Array.isArray(v) ? '[Array]' : '[Object]';
      const s = seen.concat([v]);
      const f = (x) => fmt(x, s, depth + 1);
      if (typeof Map === 'function' && v instanceof Map) {
        return 'Map {' + Array.from(v, ([k, x]) => f(k) + ' => ' + f(x)).join(', ') + '}';
      }
      if (typeof Set === 'function' && v instanceof Set) return 'Set {' + Array.from(v, f).join(', ') + '}';
      if (typeof Promise === 'function' && v instanceof Promise) return 'Promise {}';
      if (Array.isArray(v)) return '[' + v.map(f).join(', ') + ']';
      const proto = Object.getPrototypeOf(v);
      const ctor = proto && proto.constructor && proto.constructor.name;
      const prefix = proto === null ? '[Object: null prototype] ' : ctor && ctor !== 'Object' ? ctor + ' ' : '';
      const key = (k) => /^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k);
      const body = Object.keys(v).map((k) => key(k) + ': ' + f(v[k])).join(', ');
      return prefix + '{' + body + '}';
    } catch (e) {
      return '[unprintable]';
    }
  }
  const show = (v) => {
    const s = fmt(v);
    return s.length > 2000 ? s.slice(0, 2000) + '…' : s;
  };

  // ---------------------------------------------------------------- equality
  const isAsym = (x) => x !== null && typeof x === 'object' && x[ASYM] === true;

  function equals(a, b, strict, seenA, seenB) {
    if (isAsym(b)) return b.asymmetricMatch(a);
    if (isAsym(a)) return a.asymmetricMatch(b);
    if (Object.is(a, b)) return true;
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
    if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    if (a instanceof Date || b instanceof Date) {
      return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime());
    }
    if (a instanceof RegExp || b instanceof RegExp) {
      return a instanceof RegExp && b instanceof RegExp && Str(a) === Str(b);
    }
    if (a instanceof Error && b instanceof Error) return a.name === b.name && a.message === b.message;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    seenA = seenA || [];
    seenB = seenB || [];
    const i = seenA.indexOf(a);
    if (i >= 0) return seenB[i] === b;
    seenA = seenA.concat([a]);
    seenB = seenB.concat([b]);
    const eq = (x, y) => equals(x, y, strict, seenA, seenB);
    if (typeof Map === 'function' && (a instanceof Map || b instanceof Map)) {
      if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
      for (const [k, v] of a) if (!b.has(k) || !eq(v, b.get(k))) return false;
      return true;
    }
    if (typeof Set === 'function' && (a instanceof Set || b instanceof Set)) {
      if (!(a instanceof Set && b instanceof Set) || a.size !== b.size) return false;
      for (const x of a) if (!b.has(x) && !Array.from(b).some((y) => eq(x, y))) return false;
      return true;
    }
    if (Array.isArray(a)) {
      if (a.length !== b.length) return false;
      for (let j = 0; j < a.length; j++) {
        if (strict && (j in a) !== (j in b)) return false;
        if (!eq(a[j], b[j])) return false;
      }
      return true;
    }
    const keys = (o) => Object.keys(o).filter((k) => strict || o[k] !== undefined);
    const ka = keys(a), kb = keys(b);
    if (ka.length !== kb.length) return false;
    for (const k of ka) if (!hasOwn(b, k) || !eq(a[k], b[k])) return false;
    return true;
  }

  function matchesObject(actual, expected) {
    if (isAsym(expected)) return expected.asymmetricMatch(actual);
    if (expected === null || typeof expected !== 'object') return equals(actual, expected, false);
    if (actual === null || typeof actual !== 'object') return false;
    if (Array.isArray(expected)) {
      return Array.isArray(actual) && actual.length === expected.length &&
        expected.every((x, i) => matchesObject(actual[i], x));
    }
    return Object.keys(expected).every((k) => k in actual && matchesObject(actual[k], expected[k]));
  }

  // ---------------------------------------------------------------- expect
  class AssertionError extends Error {
    constructor(message) {
      super(message);
      this.name = 'AssertionError';
    }
  }

  const pair = (expected, received) => 'Expected: ' + show(expected) + '\nReceived: ' + show(received);
  const not = (n) => (n ? 'not ' : '');

  const matchers = {
    toBe(r, e) {
      return { pass: Object.is(r, e), message: (n) => n ? 'Expected: not ' + show(e) : pair(e, r) +
        (equals(r, e, true) ? '\n\nIf it should pass with deep equality, use toEqual or toStrictEqual.' : '') };
    },
    toEqual(r, e) {
      return { pass: equals(r, e, false), message: (n) => n ? 'Expected: not ' + show(e) : pair(e, r) };
    },
    toStrictEqual(r, e) {
      return { pass: equals(r, e, true), message: (n) => n ? 'Expected: not ' + show(e) : pair(e, r) };
    },
    toMatchObject(r, e) {
      return { pass: matchesObject(r, e), message: (n) => 'Expected: ' + not(n) + show(e) + '\nReceived: ' + show(r) };
    },
    toBeTruthy(r) { return { pass: !!r, message: () => 'Received: ' + show(r) }; },
    toBeFalsy(r) { return { pass: !r, message: () => 'Received: ' + show(r) }; },
    toBeNull(r) { return { pass: r === null, message: () => 'Received: ' + show(r) }; },
    toBeUndefined(r) { return { pass: r === undefined, message: () => 'Received: ' + show(r) }; },
    toBeDefined(r) { return { pass: r !== undefined, message: () => 'Received: ' + show(r) }; },
    toBeNaN(r) { return { pass: Number.isNaN(r), message: () => 'Received: ' + show(r) }; },
    toBeInstanceOf(r, C) {
      return { pass: typeof C === 'function' && r instanceof C,
        message: (n) => 'Expected constructor: ' + not(n) + (C && C.name) + '\nReceived value: ' + show(r) };
    },
    toContain(r, item) {
      let pass;
      if (typeof r === 'string') pass = r.includes(Str(item));
      else if (r != null && typeof r[Symbol.iterator] === 'function') pass = Array.from(r).some((x) => x === item);
      else throw new AssertionError('expect(received).toContain(expected)\n\nReceived value must be a string or an iterable, received ' + show(r));
      return { pass, message: (n) => 'Expected value: ' + not(n) + show(item) + '\nReceived: ' + show(r) };
    },
    toContainEqual(r, item) {
      const pass = r != null && typeof r[Symbol.iterator] === 'function' && Array.from(r).some((x) => equals(x, item, false));
      return { pass, message: (n) => 'Expected value: ' + not(n) + show(item) + '\nReceived: ' + show(r) };
    },
    toMatch(r, e) {
      if (typeof r !== 'string') {
        throw new AssertionError('expect(received).toMatch(expected)\n\nReceived value must be a string, received ' + show(r));
      }
      const pass = e instanceof RegExp ? new RegExp(e.source, e.flags.replace('g', '')).test(r) : r.includes(Str(e));
      return { pass, message: (n) => 'Expected pattern: ' + not(n) + show(e) + '\nReceived string: ' + show(r) };
    },
    toHaveLength(r, len) {
      const has = r != null && typeof r.length === 'number';
      return { pass: has && r.length === len,
        message: (n) => 'Expected length: ' + not(n) + len + '\nReceived length: ' + (has ? r.length : 'none') + '\nReceived: ' + show(r) };
    },
    toHaveProperty(r, path, ...rest) {
      const parts = Array.isArray(path) ? path : Str(path).split('.');
      let cur = r, found = true;
      for (const p of parts) {
        if (cur != null && (typeof cur === 'object' || typeof cur === 'function') && p in cur) cur = cur[p];
        else { found = false; break; }
      }
      const pass = found && (rest.length === 0 || equals(cur, rest[0], false));
      return { pass, message: (n) => 'Expected path: ' + not(n) + show(path) + (rest.length ? '\nExpected value: ' + show(rest[0]) : '') +
        '\nReceived: ' + (found ? show(cur) : show(r)) };
    },
    toBeGreaterThan(r, e) { return cmp(r, e, r > e, '>'); },
    toBeGreaterThanOrEqual(r, e) { return cmp(r, e, r >= e, '>='); },
    toBeLessThan(r, e) { return cmp(r, e, r < e, '<'); },
    toBeLessThanOrEqual(r, e) { return cmp(r, e, r <= e, '<='); },
    toBeCloseTo(r, e, digits) {
      const d = digits === undefined ? 2 : digits;
      const pass = (r === Infinity && e === Infinity) || (r === -Infinity && e === -Infinity) ||
        Math.abs(e - r) < Math.pow(10, -d) / 2;
      return { pass, message: (n) => 'Expected: ' + not(n) + show(e) + ' (precision ' + d + ' digits)\nReceived: ' + show(r) };
    },
    toThrow(r, expected) {
      let threw = false, thrown;
      if (this.mode === 'rejects') {
        threw = true;
        thrown = r;
      } else {
        if (typeof r !== 'function') {
          throw new AssertionError('expect(received).toThrow()\n\nReceived value must be a function, received ' + show(r));
        }
        try { r(); } catch (e) { threw = true; thrown = e; }
      }
      const msg = thrown instanceof Error ? thrown.message : typeof thrown === 'string' ? thrown : undefined;
      let ok = threw;
      if (threw && expected !== undefined) {
        if (typeof expected === 'string') ok = msg !== undefined && msg.includes(expected);
        else if (expected instanceof RegExp) ok = msg !== undefined && expected.test(msg);
        else if (typeof expected === 'function') ok = thrown instanceof expected;
        else if (expected instanceof Error) ok = msg === expected.message;
        else if (isAsym(expected)) ok = expected.asymmetricMatch(thrown);
      }
      return { pass: ok, message: (n) => (expected === undefined ? '' : 'Expected: ' + not(n) + show(expected) + '\n') +
        (threw ? 'Received error: ' + show(thrown) : 'Received function did not throw') };
    },
  };
  matchers.toThrowError = matchers.toThrow;
  function cmp(r, e, pass, op) {
    if ((typeof r !== 'number' && typeof r !== 'bigint') || (typeof e !== 'number' && typeof e !== 'bigint')) {
      throw new AssertionError('Received and expected values must be numbers or bigints, received ' + show(r) + ' and ' + show(e));
    }
    return { pass, message: (n) => 'Expected: ' + not(n) + op + ' ' + show(e) + '\nReceived: ' + (n ? '   ' : '') + show(r) };
  }

  function header(name, negate, mode, args) {
    const a = name === 'toBeTruthy' || name.startsWith('toBe') && args.length === 0 ? '' : 'expected';
    return 'expect(received).' + (mode ? mode + '.' : '') + (negate ? 'not.' : '') + name + '(' + a + ')';
  }

  function apply(name, fn, received, args, negate, mode) {
    const check = (actual) => {
      const r = fn.call({ mode }, actual, ...args);
      if (!!r.pass === negate) throw new AssertionError(header(name, negate, mode, args) + '\n\n' + r.message(negate));
    };
    if (!mode) {
      check(received);
      return undefined;
    }
    if (received === null || (typeof received !== 'object' && typeof received !== 'function') || typeof received.then !== 'function') {
      return Promise.reject(new AssertionError(header(name, negate, mode, args) + '\n\nReceived value must be a promise, received ' + show(received)));
    }
    return Promise.resolve(received).then(
      (v) => {
        if (mode === 'rejects') {
          throw new AssertionError(header(name, negate, mode, args) + '\n\nReceived promise resolved instead of rejected\nResolved to value: ' + show(v));
        }
        check(v);
      },
      (e) => {
        if (mode === 'resolves') {
          throw new AssertionError(header(name, negate, mode, args) + '\n\nReceived promise rejected instead of resolved\nRejected to value: ' + show(e));
        }
        check(e);
      });
  }

  function expect(received) {
    const make = (negate, mode) => {
      const m = {};
      for (const name of Object.keys(matchers)) {
        m[name] = (...args) => apply(name, matchers[name], received, args, negate, mode);
      }
      return m;
    };
    const e = make(false, null);
    e.not = make(true, null);
    e.resolves = make(false, 'resolves');
    e.resolves.not = make(true, 'resolves');
    e.rejects = make(false, 'rejects');
    e.rejects.not = make(true, 'rejects');
    return e;
  }
  const asym = (name, match) => ({ [ASYM]: true, asymmetricMatch: match, toString: () => name });
  expect.anything = () => asym('Anything', (x) => x !== null && x !== undefined);
  expect.any = (C) => asym('Any<' + (C && C.name) + '>', (x) => {
    if (C === Number) return typeof x === 'number' || x instanceof Number;
    if (C === String) return typeof x === 'string' || x instanceof String;
    if (C === Boolean) return typeof x === 'boolean' || x instanceof Boolean;
    if (C === Function) return typeof x === 'function';
    if (C === Object) return x !== null && typeof x === 'object';
    return typeof C === 'function' && x instanceof C;
  });
  expect.stringContaining = (s) => asym('StringContaining ' + show(s), (x) => typeof x === 'string' && x.includes(s));
  expect.stringMatching = (re) => asym('StringMatching ' + Str(re), (x) => typeof x === 'string' && new RegExp(re).test(x));
  expect.objectContaining = (o) => asym('ObjectContaining ' + show(o), (x) => matchesObject(x, o));
  expect.arrayContaining = (arr) => asym('ArrayContaining ' + show(arr),
    (x) => Array.isArray(x) && arr.every((y) => x.some((z) => equals(z, y, false))));

  // ---------------------------------------------------------------- registration
  const newSuite = (name, parent, mode) => ({
    name, parent, mode, beforeAll: [], afterAll: [], beforeEach: [], afterEach: [], ranBeforeAll: false, beforeAllFailed: false, beforeAllError: null, lastId: -1,
  });
  const root = newSuite('', null, null);
  let current = root;
  let collecting = true;
  let hasOnly = false;
  const tests = [];

  const fullName = (suite, name) => {
    let full = name;
    for (let s = suite; s && s !== root; s = s.parent) full = s.name + ' > ' + full;
    return full;
  };

  function addSuite(name, fn, mode) {
    if (!collecting) throw new Error('describe() cannot be called while tests run');
    if (typeof fn !== 'function') throw new TypeError('describe(' + show(name) + ') needs a function');
    const inherited = current.mode === 'skip' ? 'skip' : mode || current.mode;
    if (inherited === 'only') hasOnly = true;
    const s = newSuite(Str(name), current, inherited);
    const prev = current;
    current = s;
    try {
      const r = fn();
      if (r && typeof r.then === 'function') throw new Error('describe(' + show(name) + ') must be synchronous');
    } finally {
      current = prev;
    }
  }

  function addTest(name, fn, mode, timeout) {
    if (!collecting) throw new Error('test() cannot be called while tests run');
    if (mode !== 'todo' && typeof fn !== 'function') throw new TypeError('test(' + show(name) + ') needs a function');
    let m = mode === 'todo' ? 'todo' : current.mode === 'skip' || mode === 'skip' ? 'skip' : mode === 'only' || current.mode === 'only' ? 'only' : 'run';
    if (m === 'only') hasOnly = true;
    const t = typeof timeout === 'number' && timeout > 0 && isFinite_(timeout) ? timeout : null;
    append(tests, { id: tests.length, name: fullName(current, Str(name)), fn, suite: current, mode: m, timeout: t });
  }

  const describe = (name, fn) => addSuite(name, fn, null);
  describe.skip = (name, fn) => addSuite(name, fn, 'skip');
  describe.only = (name, fn) => addSuite(name, fn, 'only');
  const test = (name, fn, timeout) => addTest(name, fn, null, timeout);
  test.skip = (name, fn, timeout) => addTest(name, fn, 'skip', timeout);
  test.only = (name, fn, timeout) => addTest(name, fn, 'only', timeout);
  test.todo = (name) => addTest(name, null, 'todo');
  const hook = (kind) => (fn) => {
    if (!collecting) throw new Error(kind + '() cannot be called while tests run');
    if (typeof fn !== 'function') throw new TypeError(kind + '() needs a function');
    append(current[kind], fn);
  };

  const globals = {
    describe, test, it: test, expect,
    xdescribe: describe.skip, xit: test.skip, xtest: test.skip, fdescribe: describe.only, fit: test.only,
    beforeAll: hook('beforeAll'), afterAll: hook('afterAll'), beforeEach: hook('beforeEach'), afterEach: hook('afterEach'),
  };
  for (const [k, v] of Object.entries(globals)) {
    Object.defineProperty(globalThis, k, { value: v, writable: true, configurable: true, enumerable: false });
  }

  // ---------------------------------------------------------------- running
  // The suites from the root down to `suite`.
  const chain = (suite) => {
    const up = [];
    for (let s = suite; s; s = s.parent) append(up, s);
    const down = [];
    for (let i = up.length - 1; i >= 0; i--) append(down, up[i]);
    return down;
  };
  const runs = (t) => (hasOnly ? t.mode === 'only' : t.mode === 'run' || t.mode === 'only');

  async function callTest(t) {
    if (t.fn.length > 0) {
      // Callback style: test('x', (done) => { ...; done(); })
      await new PromiseCtor((resolve, reject) => {
        const done = (err) => (err ? reject(err instanceof ErrorCtor ? err : new ErrorCtor(Str(err))) : resolve());
        done.fail = (err) => reject(err instanceof ErrorCtor ? err : new ErrorCtor(Str(err)));
        t.fn(done);
      });
    } else {
      await t.fn();
    }
  }

  // The failure as the JSON text the host reads. Never throws.
  function describeError(e) {
    try {
      if (e instanceof ErrorCtor) {
        let stack = null;
        try { stack = typeof e.stack === 'string' ? e.stack : null; } catch (_) {}
        const kind = e instanceof AssertionError ? 'assertion' : 'exception';
        return '{"kind":"' + kind + '","name":' + quote(e.name) + ',"message":' + quote(e.message) +
          ',"stack":' + (stack === null ? 'null' : quote(stack)) + '}';
      }
      return '{"kind":"exception","name":null,"message":' + quote('thrown: ' + show(e)) + ',"stack":null}';
    } catch (_) {
      return '{"kind":"exception","name":null,"message":"thrown: [unprintable]","stack":null}';
    }
  }

  const internal = (token) => {
    if (TOKEN === null || token !== TOKEN) throw new TypeError('internal hook');
  };
  const installHook = (name, f, configurable) =>
    defineProperty(globalThis, name, { __proto__: null, value: O.freeze(f), configurable });

  // Called once by the host right after this prelude, before the test file runs; removes itself.
  installHook('__sandvm_test_init', (token) => {
    if (TOKEN === null) TOKEN = Str(token);
    delete globalThis.__sandvm_test_init;
  }, true);

  installHook('__sandvm_test_list', (token) => {
    internal(token);
    collecting = false;
    let out = '[';
    for (let i = 0; i < tests.length; i++) {
      const t = tests[i];
      if (runs(t)) {
        const c = chain(t.suite);
        for (let j = 0; j < c.length; j++) c[j].lastId = t.id;
      }
      const mode = t.mode === 'todo' ? 'todo' : runs(t) ? 'run' : 'skip';
      out += (i > 0 ? ',' : '') + '{"id":' + i + ',"name":' + quote(t.name) + ',"mode":"' + mode +
        '","timeout":' + (t.timeout === null ? 'null' : Str(t.timeout)) + '}';
    }
    return out + ']';
  }, false);

  installHook('__sandvm_test_run', (token, id) => {
    internal(token);
    return runTest(id);
  }, false);

  async function runTest(id) {
    const t = tests[id];
    const suites = chain(t.suite);
    let error = null, failed = false;
    const fail = (e) => { if (!failed) { failed = true; error = e; } };
    try {
      for (let i = 0; i < suites.length; i++) {
        const s = suites[i];
        if (s.beforeAllFailed) throw s.beforeAllError;
        if (!s.ranBeforeAll) {
          s.ranBeforeAll = true;
          try {
            for (let j = 0; j < s.beforeAll.length; j++) await s.beforeAll[j]();
          } catch (e) {
            s.beforeAllFailed = true;
            s.beforeAllError = e;
            throw e;
          }
        }
      }
      for (let i = 0; i < suites.length; i++) {
        for (let j = 0; j < suites[i].beforeEach.length; j++) await suites[i].beforeEach[j]();
      }
      await callTest(t);
    } catch (e) {
      fail(e);
    }
    for (let i = suites.length - 1; i >= 0; i--) {
      try {
        for (let j = 0; j < suites[i].afterEach.length; j++) await suites[i].afterEach[j]();
      } catch (e) {
        fail(e);
      }
    }
    for (let i = suites.length - 1; i >= 0; i--) {
      if (suites[i].lastId === id) {
        try {
          for (let j = 0; j < suites[i].afterAll.length; j++) await suites[i].afterAll[j]();
        } catch (e) {
          fail(e);
        }
      }
    }
    return !failed ? '{"status":"passed"}' : '{"status":"failed","error":' + describeError(error) + '}';
  }
})();
