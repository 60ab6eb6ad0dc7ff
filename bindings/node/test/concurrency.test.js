'use strict';
// The event loop keeps running while guests loop; many sandboxes in parallel, from the main
// thread and from worker_threads; dispose and GC safety.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { Sandbox } = require('..');

test('a timer fires while a guest loops', async () => {
  const s = new Sandbox({ timeout: 300 });
  let fired = 0;
  const timer = setInterval(() => fired++, 10);
  await assert.rejects(s.run('for (;;) {}'), { kind: 'timeout' });
  clearInterval(timer);
  assert.ok(fired >= 3, `the timer fired ${fired} times`);
  s.dispose();
});

test('100 sandboxes in parallel from the main thread', async () => {
  const boxes = Array.from({ length: 100 }, (_, i) => new Sandbox({ timeout: 5000, globals: { i } }));
  const out = await Promise.all(boxes.map((b) => b.run('let t = 0; for (let k = 0; k < 1e4; k++) t += k; i * 2 + (t > 0 ? 0 : 1)')));
  assert.deepEqual(out, boxes.map((_, i) => i * 2));
  for (const b of boxes) b.dispose();
});

test('100 sandboxes in parallel from 4 worker_threads', async () => {
  const addon = path.join(__dirname, '..');
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Sandbox } = require(${JSON.stringify(addon)});
    (async () => {
      const boxes = Array.from({ length: 25 }, () => new Sandbox({ timeout: 5000 }));
      const out = await Promise.all(boxes.map((b, i) => b.run(String(workerData * 100 + i))));
      boxes.forEach((b) => b.dispose());
      parentPort.postMessage(out);
    })().catch((e) => parentPort.postMessage(String(e)));`;
  const results = await Promise.all([0, 1, 2, 3].map((w) => new Promise((resolve, reject) => {
    const worker = new Worker(src, { eval: true, workerData: w });
    worker.once('message', (m) => { resolve(m); worker.terminate(); });
    worker.once('error', reject);
  })));
  results.forEach((out, w) => assert.deepEqual(out, Array.from({ length: 25 }, (_, i) => w * 100 + i)));
});

test('dispose during a run and garbage collection are safe', async () => {
  const s = new Sandbox({ timeout: 200 });
  const pending = s.run('for (;;) {}');
  s.dispose();
  await assert.rejects(pending, (e) => ['timeout', 'disposed'].includes(e.kind));
  // Sandboxes dropped without dispose() free their runtime when collected.
  for (let i = 0; i < 50; i++) new Sandbox().runSync('1');
  if (global.gc) global.gc();
  const t = new Sandbox();
  assert.equal(t.runSync('"alive"'), 'alive');
  t.dispose();
});
