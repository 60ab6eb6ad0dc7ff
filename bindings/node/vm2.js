'use strict';
// sandvm/vm2: vm2's VM and a NodeVM subset on sandvm, so a vm2 user changes one require line
// for the common cases. Values cross as copies; guest code never reaches the host's objects.

const { EventEmitter } = require('events');
const { Sandbox, SandboxError } = require('./index');

function sandboxFrom(options, modules) {
  const sb = new Sandbox({ timeout: options.timeout, modules });
  const given = options.sandbox || {};
  for (const k of Object.keys(given)) {
    if (typeof given[k] === 'function') sb.expose(k, given[k]);
    else sb.setGlobal(k, given[k]);
  }
  return sb;
}

class VMError extends SandboxError {}

/** vm2's `VM`: `timeout` (ms), `sandbox` (globals, copied), `eval` and `wasm` (see README). */
class VM extends EventEmitter {
  constructor(options = {}) {
    super();
    if (options.wasm) throw new VMError('host', 'wasm is not available in sandvm (QuickJS has no WebAssembly)');
    this.options = options;
    this._sb = sandboxFrom(options);
    if (options.eval === false) this._sb.runSync('globalThis.eval = undefined; Function.prototype.constructor = undefined; undefined');
  }

  run(code, filename) {
    return this._sb.runSync(String(code), { filename });
  }

  /** vm2 runs a file; here the caller passes its source. */
  runFile() {
    throw new VMError('host', 'runFile is not supported: read the file and call run(source, filename)');
  }

  freeze(value, name) {
    this._sb.setGlobal(name, value);
    return value;
  }

  setGlobal(name, value) {
    this._sb.setGlobal(name, value);
    return this;
  }

  getGlobal(name) {
    return this._sb.runSync(`globalThis[${JSON.stringify(String(name))}]`);
  }
}

/** A subset of vm2's `NodeVM`: `console`, `sandbox`, `timeout`, `require: { external, builtin, root, mock }`. */
class NodeVM extends EventEmitter {
  constructor(options = {}) {
    super();
    this.options = options;
    const req = options.require || {};
    const map = {};
    for (const [name, value] of Object.entries(req.mock || {})) {
      map[name] = `module.exports = ${JSON.stringify(value === undefined ? null : value)};`;
    }
    const builtin = req.builtin || [];
    if (builtin.some((b) => !(b in (req.mock || {})))) {
      throw new VMError('host', `builtin modules are not available in sandvm: mock them (${builtin.join(', ')})`);
    }
    const modules = req.external || req.root || Object.keys(map).length ? { map, root: req.external ? req.root || null : null } : undefined;
    this._sb = sandboxFrom(options, modules);
  }

  /** Runs `code` as a CommonJS module and returns a copy of its `module.exports`. */
  run(code, filename = 'vm.js') {
    const wrapped = `(function () { var module = { exports: {} }; (function (exports, module) {${String(code)}\n})(module.exports, module); return module.exports; })()`;
    const report = this._sb.executeSync(wrapped, { filename });
    const mode = this.options.console || 'inherit';
    for (const entry of report.console) {
      if (mode === 'inherit') (console[entry.level] || console.log)(entry.text);
      else if (mode === 'redirect') this.emit(`console.${entry.level}`, entry.text);
    }
    if (report.status !== 'ok') {
      const e = report.error;
      throw new VMError(e.kind, e.message || e.kind, { name: e.name, line: e.line, column: e.column });
    }
    return report.value;
  }
}

module.exports = { VM, NodeVM, VMError };
