'use strict';
// sandvm for Node.js: the JavaScript half of the package. The native addon (sandvm.node) runs
// each sandbox on its own guest thread (sandvm's Executor); this file turns options and values
// into tagged JSON (lib/codec.js), serves the guest's calls to exposed host functions on the
// main thread, and turns reports into values or SandboxErrors.

const path = require('path');
const { makeCodec } = require('./lib/codec');

const native = require(process.env.SANDVM_NODE_ADDON || path.join(__dirname, 'sandvm.node'));
const codec = makeCodec(globalThis);

/** An error from a sandbox run: `.kind` is sandvm's error kind; guest exceptions keep the guest's
 * `name`, `message`, `stack`, `line` and `column`. */
class SandboxError extends Error {
  constructor(kind, message, info = {}) {
    super(message);
    Object.defineProperty(this, 'name', { value: info.name || 'SandboxError', writable: true, configurable: true });
    this.kind = kind;
    this.line = info.line == null ? undefined : info.line;
    this.column = info.column == null ? undefined : info.column;
    if (info.stack) {
      Object.defineProperty(this, 'stack', { value: info.stack, writable: true, configurable: true });
    }
  }
}

function fromReport(e) {
  const message = e.message || e.kind;
  const stack = e.stack ? `${e.name || 'Error'}: ${message}\n${e.stack}` : undefined;
  return new SandboxError(e.kind, message, { name: e.name, stack, line: e.line, column: e.column });
}

function disposedError() {
  return new SandboxError('disposed', 'the sandbox is disposed');
}

// A native call that failed: a report of a compile error, or a host error.
function nativeError(e) {
  const m = /^sandvm-report:(.*)$/s.exec(e && e.message);
  if (m) {
    try {
      return fromReport(JSON.parse(m[1]).error);
    } catch {
      /* fall through */
    }
  }
  if (e && /disposed/.test(e.message)) return disposedError();
  return new SandboxError('host', e && e.message ? e.message : String(e));
}

function isAsyncFunction(fn) {
  return Object.prototype.toString.call(fn) === '[object AsyncFunction]';
}

function toWire(value) {
  return codec.isPlain(value, 0) ? { value, tagged: false } : { value: codec.encode(value), tagged: true };
}

function decodedReport(report) {
  const out = { ...report };
  if (report.status === 'ok') out.value = codec.decode(report.value);
  return out;
}

function outcome(report) {
  if (report.status !== 'ok') throw fromReport(report.error);
  return codec.decode(report.value);
}

function isThenable(x) {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof x.then === 'function';
}

function callHost(fns, ev, allowAsync, reply) {
  const fn = fns.get(ev.name);
  const fail = (e) => reply(false, e && typeof e.message === 'string' ? e.message : String(e));
  let result;
  try {
    if (!fn) throw new Error(`${ev.name} is not exposed`);
    const args = codec.decode(ev.args);
    result = fn(...(Array.isArray(args) ? args : []));
  } catch (e) {
    fail(e);
    return;
  }
  if (!isThenable(result)) {
    reply(true, codec.encode(result));
    return;
  }
  if (!allowAsync) {
    fail(new Error(`${ev.name} returned a promise: async host functions need \`await sandbox.run()\``));
    return;
  }
  // Not awaited here: the run's deadline covers the host's promise, and a late answer is ignored.
  Promise.resolve(result).then((v) => {
    try {
      reply(true, codec.encode(v));
    } catch (e) {
      fail(e);
    }
  }, fail);
}

function serveSync(fns, run) {
  for (;;) {
    const ev = JSON.parse(run.nextSync());
    if (ev.type === 'done') return ev.report;
    callHost(fns, ev, false, (ok, v) => run.reply(ev.id, ok, v));
  }
}

async function serve(fns, run) {
  for (;;) {
    const ev = JSON.parse(await run.next());
    if (ev.type === 'done') return ev.report;
    callHost(fns, ev, true, (ok, v) => run.reply(ev.id, ok, v));
  }
}

/** A sandbox: one guest thread with its own engine runtime and global scope. */
class Sandbox {
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const { globals, ...rest } = options;
    try {
      this._native = new native.NativeSandbox(JSON.parse(JSON.stringify(rest)));
    } catch (e) {
      throw nativeError(e);
    }
    this._fns = new Map();
    if (globals) {
      for (const k of Object.keys(globals)) this.setGlobal(k, globals[k]);
    }
  }

  _live() {
    if (this._native.disposed) throw disposedError();
    return this._native;
  }

  _call(f) {
    const n = this._live();
    try {
      return f(n);
    } catch (e) {
      throw nativeError(e);
    }
  }

  /** Sets the guest global `name` to a copy of `value`. */
  setGlobal(name, value) {
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    const w = toWire(value);
    this._call((n) => n.setGlobal(name, w.value, w.tagged));
  }

  /** Exposes host function `fn` to the guest as global `name` (sync or async). */
  expose(name, fn) {
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    this._fns.set(name, fn);
    this._call((n) => n.expose(name, isAsyncFunction(fn)));
  }

  _start(code, opts) {
    if (typeof code !== 'string') throw new TypeError('code must be a string');
    const o = opts || {};
    if (o.globals) for (const k of Object.keys(o.globals)) this.setGlobal(k, o.globals[k]);
    return this._call((n) => n.startEval(code, o.filename == null ? null : String(o.filename)));
  }

  /** Runs `code`, blocking until it ends; returns a copy of its completion value. */
  runSync(code, opts) {
    return outcome(serveSync(this._fns, this._start(code, opts)));
  }

  /** Runs `code` on the guest thread without blocking the event loop. */
  async run(code, opts) {
    return outcome(await serve(this._fns, this._start(code, opts)));
  }

  /** Runs `code` and resolves with the report of `sandvm run --json` (never rejects for guest errors). */
  async execute(code, opts) {
    return decodedReport(await serve(this._fns, this._start(code, opts)));
  }

  /** As `execute`, blocking. */
  executeSync(code, opts) {
    return decodedReport(serveSync(this._fns, this._start(code, opts)));
  }

  /** Compiles `code` into a Script (with authenticated cached data). */
  compile(code, opts = {}) {
    return new Script(code, opts);
  }

  /** The guest's enumerable own globals, copied (used by sandvm/vm). */
  globalsSync() {
    return outcome(serveSync(this._fns, this._call((n) => n.startSnapshot())));
  }

  /** Ends the sandbox's guest thread; using it afterwards throws a SandboxError of kind `disposed`. */
  dispose() {
    this._native.dispose();
  }

  /** Whether `dispose()` was called. */
  get disposed() {
    return this._native.disposed;
  }
}

/** A compiled script: `.cachedData` (authenticated) and `.cachedDataRejected`. */
class Script {
  constructor(code, opts = {}) {
    if (typeof code !== 'string') throw new TypeError('code must be a string');
    const data = opts.cachedData == null ? null : Buffer.from(opts.cachedData.buffer || opts.cachedData, opts.cachedData.byteOffset || 0, opts.cachedData.byteLength);
    try {
      this._native = new native.NativeScript(code, opts.filename == null ? null : String(opts.filename), data);
    } catch (e) {
      throw nativeError(e);
    }
  }

  get cachedData() {
    return this._native.cachedData;
  }

  get cachedDataRejected() {
    return this._native.cachedDataRejected;
  }

  _start(sandbox) {
    if (!(sandbox instanceof Sandbox)) throw new TypeError('run(sandbox) needs a Sandbox');
    return sandbox._call((n) => n.startScript(this._native));
  }

  /** Runs the script in `sandbox` on its guest thread. */
  async run(sandbox) {
    return outcome(await serve(sandbox._fns, this._start(sandbox)));
  }

  /** As `run`, blocking. */
  runSync(sandbox) {
    return outcome(serveSync(sandbox._fns, this._start(sandbox)));
  }
}

/** Jobs per tenant: `new Pool({ workers, isolation, tenants: { name: sandboxOptions } })`. Each job runs
 * in a fresh sandbox with its tenant's options (nothing leaks between jobs); at most `workers` jobs
 * of one tenant run at a time, the rest wait in order. */
class Pool {
  constructor(options = {}) {
    this.workers = Math.max(1, options.workers | 0 || 4);
    const isolation = options.isolation || 'thread';
    if (isolation !== 'thread') {
      throw new SandboxError('host', `isolation '${isolation}' is not available from Node: use 'thread' (or sandvm-server for process workers)`);
    }
    this.isolation = isolation;
    this.tenants = new Map(Object.entries(options.tenants || {}));
    this._queues = new Map();
  }

  async _acquire(tenant) {
    let q = this._queues.get(tenant);
    if (!q) {
      q = { running: 0, waiting: [] };
      this._queues.set(tenant, q);
    }
    if (q.running < this.workers) {
      q.running++;
      return q;
    }
    await new Promise((resolve) => q.waiting.push(resolve));
    return q;
  }

  _release(q) {
    const next = q.waiting.shift();
    if (next) next();
    else q.running--;
  }

  /** Runs one job for `tenant`; resolves with its report (see `Sandbox.execute`). */
  async execute(tenant, job = {}) {
    const opts = this.tenants.get(tenant);
    if (!opts) throw new SandboxError('unknown_tenant', `unknown tenant '${tenant}'`);
    const q = await this._acquire(tenant);
    let box;
    try {
      box = new Sandbox({ ...opts, globals: { ...(opts.globals || {}), ...(job.globals || {}) } });
      return await box.execute(job.code, { filename: job.filename });
    } finally {
      if (box) box.dispose();
      this._release(q);
    }
  }

  /** Forgets the queues (jobs in flight finish). */
  close() {
    this._queues.clear();
  }
}

module.exports = { Sandbox, Script, Pool, SandboxError, codec };
