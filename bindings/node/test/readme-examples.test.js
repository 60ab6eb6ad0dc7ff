'use strict';
// The usage examples of vm2's and isolated-vm's READMEs, rewritten on sandvm.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Sandbox } = require('..');
const { VM, NodeVM } = require('../vm2');

test('vm2 README: VM with a timeout and sandbox', () => {
  const vm = new VM({ timeout: 1000, allowAsync: false, sandbox: {} });
  assert.equal(typeof vm.run('Math.random()'), 'number');
  const withGlobals = new VM({ sandbox: { a: 1, b: 2 } });
  assert.equal(withGlobals.run('a + b'), 3);
  assert.throws(() => new VM({ timeout: 50 }).run('while (true) {}'), /timed out/);
});

test('vm2 README: NodeVM runs a module and returns its exports', () => {
  const vm = new NodeVM({ console: 'off', sandbox: {}, require: { external: false, builtin: [] } });
  const exported = vm.run('module.exports = { answer: 42, greet: "hi" }', 'vm.js');
  assert.deepEqual(exported, { answer: 42, greet: 'hi' });
});

test('vm2 README: escapes through the host realm do not work', () => {
  const vm = new VM();
  assert.equal(vm.run('this.constructor.constructor("return this")().process'), undefined);
  assert.throws(() => vm.run('Error.prepareStackTrace = (e, s) => s[0].getThis().process.exit(); new Error().stack; process'), { kind: 'exception' });
});

test('isolated-vm README: isolate, context, global.set, evalSync', () => {
  // const isolate = new ivm.Isolate({ memoryLimit: 128 }); const context = isolate.createContextSync();
  const sandbox = new Sandbox({ memoryLimit: 128 });
  // jail.set('log', function(...args) { console.log(...args); });
  const logged = [];
  sandbox.expose('log', (...args) => { logged.push(args.join(' ')); });
  // context.evalSync('log("hello world")');
  sandbox.runSync('log("hello world")');
  assert.deepEqual(logged, ['hello world']);
});

test('isolated-vm README: compileScript, run with timeout, copy values', async () => {
  // const script = await isolate.compileScript('1 + 1'); await script.run(context, { timeout: 100 })
  const sandbox = new Sandbox({ timeout: 100 });
  const script = sandbox.compile('1 + 1');
  assert.equal(await script.run(sandbox), 2);
  // new ivm.ExternalCopy(value).copyInto() -> setGlobal copies
  sandbox.setGlobal('data', { list: [1, 2, 3], when: new Date(0) });
  assert.equal(await sandbox.run('data.list.length + data.when.getTime()'), 3);
  // isolate.compileScript('for(;;){}').run(context, { timeout: 100 }) rejects
  await assert.rejects(sandbox.compile('for (;;) {}').run(sandbox), { kind: 'timeout' });
});

test('isolated-vm README: async host reference (applySyncPromise) becomes an async exposed function', async () => {
  const sandbox = new Sandbox({ timeout: 500 });
  sandbox.expose('readConfig', async (key) => ({ key, value: 7 }));
  assert.equal(await sandbox.run('(async () => (await readConfig("x")).value * 6)()'), 42);
});
