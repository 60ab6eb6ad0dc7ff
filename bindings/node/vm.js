'use strict';
// sandvm/vm: the node:vm surface on sandvm. A context is a sandbox; the context object's own
// enumerable properties are copied in before each run and the guest's globals copied back
// after it (copies, never references). See README "From Node.js" for the differences.

const { Sandbox, Script: NativeBackedScript, SandboxError } = require('./index');

const contexts = new WeakMap();

function optionsOf(options) {
  return typeof options === 'string' ? { filename: options } : options || {};
}

function createContext(contextObject = {}, options = {}) {
  if (contextObject === null || typeof contextObject !== 'object') {
    throw new TypeError('The "contextObject" argument must be of type object');
  }
  if (contexts.has(contextObject)) return contextObject;
  const sb = new Sandbox({ timeout: options.timeout, memoryLimit: options.memoryLimit });
  contexts.set(contextObject, sb);
  return contextObject;
}

function isContext(object) {
  if (object === null || typeof object !== 'object') {
    throw new TypeError('The "object" argument must be of type object');
  }
  return contexts.has(object);
}

function sandboxOf(contextObject) {
  const sb = contextObject !== null && typeof contextObject === 'object' ? contexts.get(contextObject) : undefined;
  if (!sb) throw new TypeError('The "contextifiedObject" argument must be an vm.Context');
  return sb;
}

// The primitive values last copied back, per context: unchanged ones are not sent again.
const synced = new WeakMap();

function copyIn(sb, ctx) {
  const last = synced.get(ctx) || new Map();
  for (const k of Object.keys(ctx)) {
    const v = ctx[k];
    if (last.has(k) && Object.is(last.get(k), v) && (v === null || typeof v !== 'object')) continue;
    if (typeof v === 'function') sb.expose(k, v);
    else sb.setGlobal(k, v);
  }
}

function copyBack(sb, ctx) {
  const globals = sb.globalsSync();
  const last = new Map();
  for (const k of Object.keys(globals)) {
    if (typeof ctx[k] === 'function') continue;
    ctx[k] = globals[k];
    last.set(k, globals[k]);
  }
  synced.set(ctx, last);
}

function inContext(ctx, run) {
  const sb = sandboxOf(ctx);
  copyIn(sb, ctx);
  try {
    return run(sb);
  } finally {
    if (!sb.disposed) copyBack(sb, ctx);
  }
}

function runInContext(code, contextObject, options) {
  const o = optionsOf(options);
  return inContext(contextObject, (sb) => sb.runSync(String(code), { filename: o.filename }));
}

function runInNewContext(code, contextObject = {}, options) {
  const ctx = createContext(contextObject, optionsOf(options));
  return runInContext(code, ctx, options);
}

function runInThisContext() {
  throw new SandboxError('host', 'runInThisContext is refused by sandvm/vm: it would run code in the host realm; use runInNewContext or runInContext');
}

class Script {
  constructor(code, options) {
    const o = optionsOf(options);
    this._code = String(code);
    this._script = new NativeBackedScript(this._code, { filename: o.filename || 'evalmachine.<anonymous>', cachedData: o.cachedData });
    this.cachedDataRejected = o.cachedData ? this._script.cachedDataRejected : undefined;
    if (o.produceCachedData) this.cachedData = this._script.cachedData;
  }

  createCachedData() {
    return this._script.cachedData;
  }

  runInContext(contextObject) {
    return inContext(contextObject, (sb) => this._script.runSync(sb));
  }

  runInNewContext(contextObject = {}, options) {
    return this.runInContext(createContext(contextObject, optionsOf(options)));
  }

  runInThisContext() {
    return runInThisContext();
  }
}

function compileFunction(code, params = [], options = {}) {
  for (const p of params) {
    if (typeof p !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(p)) throw new TypeError(`invalid parameter name ${String(p)}`);
  }
  const ctx = options.parsingContext || createContext({});
  const source = `(function (${params.join(', ')}) {\n${code}\n})`;
  // Checks the syntax now, as node:vm does; a body that closes the function early is refused.
  new NativeBackedScript(`${source}; undefined`, { filename: options.filename });
  const extensions = Object.assign({}, ...(options.contextExtensions || []));
  return function compiled(...args) {
    return inContext(ctx, (sb) => {
      for (const k of Object.keys(extensions)) sb.setGlobal(k, extensions[k]);
      sb.setGlobal('__sandvm_args', args);
      return sb.runSync(`${source}.apply(undefined, __sandvm_args)`, { filename: options.filename });
    });
  };
}

/** Ends the sandbox behind a context made by createContext (sandvm extension). */
function disposeContext(contextObject) {
  sandboxOf(contextObject).dispose();
  contexts.delete(contextObject);
}

module.exports = {
  createContext, isContext, runInContext, runInNewContext, runInThisContext, Script, compileFunction, disposeContext,
};
