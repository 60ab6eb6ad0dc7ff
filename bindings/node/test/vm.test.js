'use strict';
// sandvm/vm and sandvm/vm2. The "node test-vm-*" cases are ports of assertions in Node's
// test/parallel/test-vm-*.js that apply to sandvm/vm (rewritten, see VM-COMPAT.md for the table).
const test = require('node:test');
const assert = require('node:assert/strict');
const vm = require('../vm');
const { VM, NodeVM } = require('../vm2');

test('node test-vm-basic: runInContext, runInNewContext, copy-back', () => {
  const ctx = vm.createContext({ foo: 'bar', thing: 'lala' });
  assert.equal(vm.runInContext('foo = "lol"; typeof baz', ctx), 'undefined');
  assert.equal(ctx.foo, 'lol');
  const r = vm.runInNewContext('baz = foo; typeof baz', { foo: 'bar' });
  assert.equal(r, 'string');
  const sandbox = { x: 1 };
  vm.runInNewContext('x = 2; y = 3', sandbox);
  assert.deepEqual(sandbox, { x: 2, y: 3 });
});

test('node test-vm-context: ctx.x reflects guest assignment; var declarations show up', () => {
  const ctx = vm.createContext({});
  vm.runInContext('x = 2', ctx);
  assert.equal(ctx.x, 2);
  vm.runInContext('var y = x * 21', ctx);
  assert.equal(ctx.y, 42);
  assert.equal(vm.runInContext('x + y', ctx), 44);
});

test('node test-vm-is-context / test-vm-create-context-arg', () => {
  assert.equal(vm.isContext(vm.createContext()), true);
  assert.equal(vm.isContext({}), false);
  assert.throws(() => vm.isContext('string'), TypeError);
  assert.throws(() => vm.createContext('string'), TypeError);
  const o = {};
  assert.equal(vm.createContext(o), o);
  assert.equal(vm.createContext(o), o);
  assert.throws(() => vm.runInContext('1', {}), TypeError);
});

test('node test-vm-syntax-error-message / test-vm-basic errors keep name and message', () => {
  assert.throws(() => vm.runInNewContext('var 5;'), (e) => e.name === 'SyntaxError' && e.kind === 'syntax');
  assert.throws(() => vm.runInNewContext('throw new TypeError("x")'), (e) => e.name === 'TypeError' && e.message === 'x');
});

test('node test-vm-timeout: an endless loop ends', () => {
  const ctx = vm.createContext({}, { timeout: 50 });
  assert.throws(() => vm.runInContext('while (true) {}', ctx), { kind: 'timeout' });
});

test('node test-vm-cached-data: produce, accept and reject cached data', () => {
  const src = 'function f() { return 5 } f()';
  const script = new vm.Script(src, { produceCachedData: true });
  assert.ok(Buffer.isBuffer(script.cachedData));
  const data = script.createCachedData();
  const again = new vm.Script(src, { cachedData: data });
  assert.equal(again.cachedDataRejected, false);
  assert.equal(again.runInNewContext({}), 5);
  const bad = new vm.Script(src, { cachedData: Buffer.from('garbage') });
  assert.equal(bad.cachedDataRejected, true);
  assert.equal(bad.runInNewContext({}), 5);
});

test('node test-vm-run-in-new-context: the guest cannot reach the host global', () => {
  globalThis.hostOnly = 1;
  assert.equal(vm.runInNewContext('typeof hostOnly'), 'undefined');
  assert.equal(vm.runInNewContext('typeof process'), 'undefined');
  assert.equal(vm.runInNewContext('this.constructor.constructor("return typeof process")()'), 'undefined');
  delete globalThis.hostOnly;
});

test('node test-vm-function-declaration: function declarations are globals (not copied back)', () => {
  const ctx = vm.createContext({});
  assert.equal(vm.runInContext('function a() { return 1 } a()', ctx), 1);
  assert.equal(vm.runInContext('typeof a', ctx), 'function');
  // Differs by design: functions are not copied back to the context object.
  assert.equal(typeof ctx.a, 'undefined');
});

test('node test-vm-script: a Script runs in many contexts; runInThisContext is refused', () => {
  const s = new vm.Script('count = (typeof count === "number" ? count : 0) + 1');
  const a = vm.createContext({});
  const b = vm.createContext({ count: 10 });
  s.runInContext(a);
  s.runInContext(a);
  s.runInContext(b);
  assert.equal(a.count, 2);
  assert.equal(b.count, 11);
  assert.throws(() => s.runInThisContext(), /refused/);
  assert.throws(() => vm.runInThisContext('1'), /refused/);
});

test('node test-vm-compile-function: params, body, contextExtensions, syntax errors', () => {
  const f = vm.compileFunction('return a + b + (typeof c)', ['a', 'b'], { contextExtensions: [{ c: 1 }] });
  assert.equal(f(1, 2), '3number');
  assert.throws(() => vm.compileFunction('return )'), { kind: 'syntax' });
  assert.throws(() => vm.compileFunction('return 1', ['a-b']), TypeError);
});

test('values in the context object are copies (differs from node:vm by design)', () => {
  const shared = { n: 1 };
  const ctx = vm.createContext({ shared });
  vm.runInContext('shared.n = 2', ctx);
  assert.equal(shared.n, 1);
  assert.notEqual(ctx.shared, shared);
  assert.equal(ctx.shared.n, 2);
});

test('vm2 VM: timeout, sandbox, eval: false, wasm refused', () => {
  const v = new VM({ timeout: 100, sandbox: { a: 1, double: (x) => x * 2 } });
  assert.equal(v.run('double(a) + 1'), 3);
  assert.throws(() => v.run('while (true) {}'), { kind: 'timeout' });
  const noEval = new VM({ eval: false });
  assert.throws(() => noEval.run('eval("1")'), { kind: 'exception' });
  assert.throws(() => new VM({ wasm: true }), /wasm/);
  assert.equal(v.run('this.constructor.constructor("return typeof process")()'), 'undefined');
});

test('vm2 NodeVM: console modes, require mocks, module.exports copied out', () => {
  const lines = [];
  const nvm = new NodeVM({ console: 'redirect', require: { mock: { config: { port: 80 } } } });
  nvm.on('console.log', (t) => lines.push(t));
  const out = nvm.run('console.log("hi"); module.exports = { port: require("config").port + 1 }');
  assert.deepEqual(out, { port: 81 });
  assert.deepEqual(lines, ['hi']);
  const off = new NodeVM({ console: 'off' });
  assert.equal(off.run('console.log("x"); exports.ok = true; module.exports').ok, true);
  assert.throws(() => new NodeVM({ require: { builtin: ['fs'] } }), /builtin/);
  assert.throws(() => nvm.run('require("fs")'), (e) => e.kind === 'exception' || e.kind === 'module_not_allowed' || e.kind === 'module_not_found');
});
