'use strict';
// Hostile guests: nothing reaches the Node process.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Sandbox } = require('..');

test('no ambient Node capability is reachable', () => {
  const s = new Sandbox({ timeout: 200 });
  for (const name of ['process', 'require', 'module', 'Buffer', 'global', 'setTimeout', '__dirname']) {
    assert.equal(s.runSync(`typeof ${name}`), 'undefined', name);
  }
  assert.equal(s.runSync('typeof this.constructor.constructor("return typeof process")()'), 'string');
  assert.equal(s.runSync('this.constructor.constructor("return typeof process")()'), 'undefined');
  s.dispose();
});

test('host functions expose no constructor, this or host realm', () => {
  const s = new Sandbox({ timeout: 200 });
  s.expose('f', function () { return typeof this; });
  s.expose('g', async () => 1);
  assert.equal(s.runSync('f()'), 'undefined');
  assert.equal(s.runSync('f.constructor("return typeof process")()'), 'undefined');
  assert.equal(s.runSync('g.constructor("return typeof process")()'), 'undefined');
  assert.equal(s.runSync('typeof f.prototype'), 'undefined');
  assert.throws(() => s.runSync('new f()'), { kind: 'exception' });
  assert.equal(s.runSync('Object.getPrototypeOf(f) === Function.prototype'), true);
  s.dispose();
});

test('errors, promises and proxies from the host are copies', async () => {
  const s = new Sandbox({ timeout: 200 });
  s.expose('boom', () => { const e = new Error('secret'); e.host = process; throw e; });
  s.expose('p', async () => ({ then: 1, process: 'no' }));
  s.setGlobal('px', new Proxy({ a: 1 }, { get: () => 'trap' }));
  assert.equal(s.runSync('try { boom() } catch (e) { Object.keys(e).includes("host") + "|" + e.constructor.constructor("return typeof process")() }'), 'false|undefined');
  assert.equal(await s.run('p().then(v => typeof v.process + (v.constructor === Object))'), 'stringtrue');
  assert.equal(s.runSync('px.a'), 'trap');
  s.dispose();
});

test('prototype pollution stays inside the guest, including through values copied out', () => {
  const s = new Sandbox({ timeout: 200 });
  s.runSync('Object.prototype.polluted = "yes"; Array.prototype.push = null');
  assert.equal(({}).polluted, undefined);
  const out = s.runSync('JSON.parse(\'{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"x": 1}}}\')');
  assert.equal(({}).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out).sort(), ['__proto__', 'constructor']);
  const tagged = s.runSync('({ "\\u0000t": "error", v: ["X", "m", null] })');
  assert.deepEqual(Object.keys(tagged), ['\u0000t', 'v']);
  s.dispose();
});

test('a finisher replaced by the guest cannot hurt the host', () => {
  const s = new Sandbox({ timeout: 200 });
  assert.throws(() => s.runSync('globalThis.__sandvm_finish = () => ({ "\\u0000t": "typed", v: ["Function", [1]] })'), /unknown typed array/);
  assert.throws(() => s.runSync('1'), /unknown typed array/);
  assert.throws(() => s.runSync('globalThis.__sandvm_finish = () => ({ "\\u0000t": "ref", v: 99 })'), /bad reference/);
  assert.throws(() => s.runSync('1'), /bad reference/);
  s.dispose();
});

test('loops, OOM and deep recursion end as limits, and the sandbox goes on', async () => {
  const s = new Sandbox({ timeout: 100, memoryLimit: 16 });
  await assert.rejects(s.run('for (;;) {}'), { kind: 'timeout' });
  await assert.rejects(s.run('(async () => { for (;;) await null })()'), { kind: 'timeout' });
  await assert.rejects(s.run('let s = "x"; const a = []; for (;;) { a.push(s + a.length) }'), (e) => ['memory_limit', 'timeout'].includes(e.kind));
  await assert.rejects(s.run('(function r() { r() })()'), { kind: 'stack_overflow' });
  await assert.rejects(s.run('new Array(2**32-1).join("x")'), (e) => ['timeout', 'memory_limit', 'exception'].includes(e.kind));
  assert.equal(await s.run('6 * 7'), 42);
  s.dispose();
});
