'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Sandbox, Script, Pool, SandboxError } = require('..');

test('runSync returns copies of the completion value', () => {
  const s = new Sandbox();
  assert.equal(s.runSync('1 + 1'), 2);
  assert.deepEqual(s.runSync('({ a: [1, "x", null, true] })'), { a: [1, 'x', null, true] });
  assert.equal(s.runSync('undefined'), undefined);
  s.dispose();
});

test('values beyond JSON go in and come out as copies', () => {
  const s = new Sandbox();
  const cyc = { name: 'c' };
  cyc.self = cyc;
  const value = {
    u: undefined, n: NaN, inf: -Infinity, negz: -0, big: 12345678901234567890n,
    d: new Date(86400000), m: new Map([['k', new Set([1, 2])]]), r: /a+b/gi,
    bytes: new Uint8Array([1, 2, 255]), f64: new Float64Array([1.5]), ab: new Uint8Array([7]).buffer,
    buf: Buffer.from('hi'), err: new RangeError('bad'), cyc,
    tricky: { '\u0000t': 'not a tag' },
  };
  s.setGlobal('v', value);
  assert.equal(s.runSync('v.d instanceof Date && v.m.get("k") instanceof Set && v.r.test("AAB") && typeof v.big'), 'bigint');
  assert.equal(s.runSync('v.cyc.self === v.cyc'), true);
  assert.equal(s.runSync('v.tricky["\\u0000t"]'), 'not a tag');
  const out = s.runSync('v');
  assert.notEqual(out, value);
  assert.equal(out.u, undefined);
  assert.ok('u' in out);
  assert.ok(Number.isNaN(out.n));
  assert.equal(out.inf, -Infinity);
  assert.ok(Object.is(out.negz, -0));
  assert.equal(out.big, 12345678901234567890n);
  assert.equal(out.d.getTime(), 86400000);
  assert.deepEqual([...out.m.get('k')], [1, 2]);
  assert.equal(out.r.source, 'a+b');
  assert.equal(out.r.flags, 'gi');
  assert.deepEqual([...out.bytes], [1, 2, 255]);
  assert.ok(out.f64 instanceof Float64Array);
  assert.equal(out.ab.byteLength, 1);
  assert.deepEqual([...out.buf], [104, 105]);
  assert.ok(out.err instanceof Error);
  assert.equal(out.err.name, 'RangeError');
  assert.equal(out.err.message, 'bad');
  assert.equal(out.cyc.self, out.cyc);
  assert.deepEqual(out.tricky, { '\u0000t': 'not a tag' });
  s.dispose();
});

test('run is async and globals given to a run persist', async () => {
  const s = new Sandbox({ globals: { base: 40 } });
  assert.equal(await s.run('base + inc', { globals: { inc: 2 } }), 42);
  assert.equal(await s.run('inc'), 2);
  s.dispose();
});

test('execute returns the report of sandvm run --json', async () => {
  const s = new Sandbox();
  const ok = await s.execute('console.log("hi"); [1, 2]');
  assert.equal(ok.status, 'ok');
  assert.deepEqual(ok.value, [1, 2]);
  assert.equal(ok.display, '[ 1, 2 ]');
  assert.equal(ok.console[0].text, 'hi');
  assert.equal(typeof ok.stats.wall_ms, 'number');
  const bad = await s.execute('null.x');
  assert.equal(bad.status, 'error');
  assert.equal(bad.error.kind, 'exception');
  assert.equal(bad.error.name, 'TypeError');
  s.dispose();
});

test('errors are SandboxErrors with the contract kind and the guest details', () => {
  const s = new Sandbox({ timeout: 100 });
  const kinds = {
    timeout: 'for (;;) {}',
    syntax: 'let let = ;',
    exception: '\n\nthrow new TypeError("boom")',
    stack_overflow: 'function f() { return f() + 1 } f()',
  };
  for (const [kind, code] of Object.entries(kinds)) {
    assert.throws(() => s.runSync(code, { filename: 'guest.js' }), (e) => e instanceof SandboxError && e.kind === kind, kind);
  }
  try {
    s.runSync('\n\nthrow new TypeError("boom")', { filename: 'guest.js' });
  } catch (e) {
    assert.equal(e.name, 'TypeError');
    assert.equal(e.message, 'boom');
    assert.equal(e.line, 3);
    assert.match(e.stack, /guest\.js/);
  }
  assert.equal(s.runSync('"still usable"'), 'still usable');
  s.dispose();
});

test('memory and output limits', () => {
  const s = new Sandbox({ memoryLimit: 8, maxOutput: 1000 });
  assert.throws(() => s.runSync('const a = []; for (;;) a.push(new Array(1e5).fill(1))'), { kind: 'memory_limit' });
  assert.throws(() => s.runSync('for (let i = 0; i < 1e4; i++) console.log("xxxxxxxxxx")'), { kind: 'output_limit' });
  assert.equal(s.runSync('1'), 1);
  s.dispose();
});

test('options: capabilities, freeze, deterministic, modules; bad options are refused', () => {
  const s = new Sandbox({ capabilities: ['base64'], freeze: true, deterministic: { seed: 7 }, modules: { map: { 'lib.js': 'module.exports = 41' }, allow: [] } });
  assert.equal(s.runSync('btoa("hi")'), 'aGk=');
  assert.equal(s.runSync('Object.isFrozen(Object.prototype)'), true);
  assert.equal(s.runSync('Date.now()'), 0);
  const r1 = s.runSync('Math.random()');
  const t = new Sandbox({ deterministic: { seed: 7 } });
  assert.equal(t.runSync('Math.random()'), r1);
  assert.equal(s.runSync('require("lib.js") + 1'), 42);
  assert.throws(() => new Sandbox({ capabilities: ['fs'] }), /unknown capability/);
  assert.throws(() => new Sandbox({ timeout: 'soon' }), /timeout/);
  s.dispose();
  t.dispose();
});

test('expose: sync and async host functions get and return copies', async () => {
  const s = new Sandbox({ timeout: 1000 });
  const seen = [];
  s.expose('add', (a, b) => a + b);
  s.expose('keep', (o) => { seen.push(o); return o; });
  s.expose('fetchUser', async (id) => { await new Promise((r) => setTimeout(r, 5)); return { id, when: new Date(1) }; });
  s.expose('fail', () => { throw new Error('host says no'); });
  assert.equal(s.runSync('add(2, 3)'), 5);
  assert.equal(s.runSync('const o = { m: new Map([[1, 2]]) }; keep(o) !== o'), true);
  assert.ok(seen[0].m instanceof Map);
  assert.equal(await s.run('fetchUser(7) instanceof Promise'), true);
  assert.deepEqual(await s.run('fetchUser(7).then((u) => [u.id, u.when.getTime()])'), [7, 1]);
  assert.equal(await s.run('(async () => (await fetchUser(1)).id + (await fetchUser(2)).id)()'), 3);
  assert.equal(s.runSync('try { fail() } catch (e) { e.message }'), 'host says no');
  assert.throws(() => s.runSync('fetchUser(1)'), /async host functions need/);
  s.dispose();
});

test('the deadline covers awaited host calls; late answers are ignored', async () => {
  const s = new Sandbox({ timeout: 100 });
  let settle;
  s.expose('never', async () => new Promise((r) => { settle = r; }));
  const t0 = Date.now();
  await assert.rejects(s.run('never()'), { kind: 'timeout' });
  assert.ok(Date.now() - t0 < 2000);
  settle(1);
  assert.equal(await s.run('"next run fine"'), 'next run fine');
  s.dispose();
});

test('compile: cached data is authenticated and reusable', async () => {
  const s = new Sandbox();
  const script = s.compile('var n = (typeof n === "number" ? n : 0) + 1; n', { filename: 'count.js' });
  assert.equal(script.cachedDataRejected, false);
  assert.ok(Buffer.isBuffer(script.cachedData));
  assert.equal(await script.run(s), 1);
  assert.equal(script.runSync(s), 2);
  const again = s.compile('var n = (typeof n === "number" ? n : 0) + 1; n', { cachedData: script.cachedData });
  assert.equal(again.cachedDataRejected, false);
  assert.equal(await again.run(s), 3);
  const forged = Buffer.from(script.cachedData);
  forged[forged.length - 1] ^= 1;
  const refused = s.compile('var n = 1; n', { cachedData: forged });
  assert.equal(refused.cachedDataRejected, true);
  assert.equal(refused.runSync(s), 1);
  assert.throws(() => s.compile('let let = ;'), { kind: 'syntax' });
  assert.ok(script instanceof Script);
  s.dispose();
});

test('a disposed sandbox throws a clear error', async () => {
  const s = new Sandbox();
  s.dispose();
  s.dispose();
  assert.equal(s.disposed, true);
  assert.throws(() => s.runSync('1'), { kind: 'disposed' });
  await assert.rejects(s.run('1'), { kind: 'disposed' });
  assert.throws(() => s.setGlobal('x', 1), { kind: 'disposed' });
  assert.throws(() => s.expose('f', () => 1), { kind: 'disposed' });
});

test('Pool runs jobs per tenant', async () => {
  const pool = new Pool({ workers: 2, tenants: { acme: { timeout: 100, globals: { plan: 'gold' } } } });
  const reports = await Promise.all([1, 2, 3].map((i) => pool.execute('acme', { code: 'plan + n', globals: { n: i } })));
  assert.deepEqual(reports.map((r) => r.value), ['gold1', 'gold2', 'gold3']);
  assert.equal((await pool.execute('acme', { code: 'for(;;){}' })).error.kind, 'timeout');
  await assert.rejects(pool.execute('nobody', { code: '1' }), { kind: 'unknown_tenant' });
  assert.throws(() => new Pool({ isolation: 'process' }), /not available/);
});
