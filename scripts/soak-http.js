#!/usr/bin/env node
// Hostile HTTP mix against a running `sandvm serve` (driven by scripts/soak-http.sh).
//
//   node scripts/soak-http.js BASE_URL SECONDS [CONCURRENCY]
//
// Sends a mix of good runs, timeouts, out-of-memory, stack overflows, uninterruptible builtins,
// modules, stored scripts, template renders, malformed JSON, wrong content types, oversized
// bodies and over-limit requests, from CONCURRENCY loops (default 8) on keep-alive connections,
// until SECONDS have passed. Every request carries a fresh nonce in `x-request-id` and, where
// the answer can carry it, in the guest's data; the answer must echo it (no lost or mixed
// responses). Checks: every request gets an answer, with the status its kind expects; no 5xx
// other than 503 (pool saturated). Prints one JSON summary line; exits 1 on any violation.
'use strict';

const [base, secondsArg, concArg] = process.argv.slice(2);
if (!base || !secondsArg) {
  console.error('usage: soak-http.js BASE_URL SECONDS [CONCURRENCY]');
  process.exit(2);
}
const deadline = Date.now() + Number(secondsArg) * 1000;
const concurrency = Number(concArg || 8);
let seq = 0;

const json = (body) => ({ 'content-type': 'application/json', body: JSON.stringify(body) });
const report = (kind) => (st, body, n) => st === 200 && body && body.error && body.error.kind === kind && echoed(body, n);
// A limit can strike before the guest's first statement (a loaded machine, a job that waited):
// an empty console is counted, not a violation; another request's nonce is (a mixed response).
const echoed = (body, n) => {
  if (!Array.isArray(body.console)) return false;
  if (body.console.length === 0) { stats.limit_before_log++; return true; }
  return body.console.every((c) => c.text === n);
};
const rejected = (status, kind) => (st, body) => st === status && body && body.error && (!kind || body.error.kind === kind);

// Each kind: weight, request builder (given the nonce), and the check of (status, body, nonce).
const KINDS = {
  good: [30, (n) => ['/v1/execute', json({ code: 'console.log(nonce); ({ nonce, twice: x * 2 })', globals: { nonce: n, x: 21 } })],
    (st, b, n) => st === 200 && b.status === 'ok' && b.value.nonce === n && b.value.twice === 42],
  timeout: [10, (n) => ['/v1/execute', json({ code: `console.log(${JSON.stringify(n)}); for (;;) {}`, timeout_ms: 50 })], report('timeout')],
  oom: [8, (n) => ['/v1/execute', json({ code: `console.log(${JSON.stringify(n)}); const a = []; for (;;) a.push(new Array(1e5).fill(1.5));`, memory_mb: 8 })], report('memory_limit')],
  stack: [8, (n) => ['/v1/execute', json({ code: `console.log(${JSON.stringify(n)}); function f(x) { return f(x + 1) + 1 } f(0)` })], report('stack_overflow')],
  // A builtin the interrupt cannot stop: the watchdog ends it (a timeout report), or the pool
  // is saturated with abandoned workers (503).
  builtin: [1, (n) => ['/v1/execute', json({ code: `console.log(${JSON.stringify(n)}); Array.prototype.join.call({ length: 2 ** 32 - 1 })`, timeout_ms: 50 })],
    (st, b, n) => (st === 200 && b.error && b.error.kind === 'timeout') || st === 503],
  module: [8, (n) => ['/v1/execute', json({ code: 'export const nonce = globalThis.nonce;', module: true, globals: { nonce: n } })],
    (st, b, n) => st === 200 && b.status === 'ok' && b.value.nonce === n],
  template: [8, (n) => ['/v1/templates/render', json({ template: '<{{upper nonce}}>', data: { nonce: n }, helpers: { upper: 'function (s) { return String(s).toUpperCase() }' } })],
    (st, b, n) => st === 200 && b.output === `<${n.toUpperCase()}>`],
  script: [6, null, null], // create, run, delete: handled by runScript
  malformed: [6, () => ['/v1/execute', { 'content-type': 'application/json', body: '{"code": ' }], rejected(400)],
  wrong_type: [4, () => ['/v1/execute', json({ code: 42 })], rejected(400)],
  content_type: [4, () => ['/v1/execute', { 'content-type': 'text/plain', body: '{"code": "1"}' }], rejected(415)],
  oversize: [2, () => ['/v1/execute', json({ code: `'${'x'.repeat(2 << 20)}'` })], rejected(413)],
  over_limit: [4, () => ['/v1/execute', json({ code: '1', timeout_ms: 10 ** 9 })], rejected(422)],
  not_found: [1, () => ['/v1/nothing', json({})], (st) => st === 404],
};
const table = [];
for (const [name, [weight]] of Object.entries(KINDS)) for (let i = 0; i < weight; i++) table.push(name);

const stats = { requests: 0, limit_before_log: 0, by_status: {}, by_kind: {}, violations: 0, status_503: 0, latency_ms_max: 0 };
const violations = [];
function violation(msg) {
  stats.violations++;
  if (violations.length < 20) violations.push(msg);
}

async function send(path, init, nonce) {
  const started = Date.now();
  const headers = { 'x-request-id': nonce };
  if (init && init['content-type']) headers['content-type'] = init['content-type'];
  const method = init && init.method ? init.method : 'POST';
  let res;
  try {
    res = await fetch(base + path, { method, headers, body: method === 'POST' ? init.body : undefined, signal: AbortSignal.timeout(30000) });
  } catch (e) {
    violation(`lost: ${path} ${nonce}: ${e.cause ? e.cause.code || e.cause.message : e.message}`);
    return null;
  }
  const text = await res.text();
  stats.requests++;
  stats.by_status[res.status] = (stats.by_status[res.status] || 0) + 1;
  stats.latency_ms_max = Math.max(stats.latency_ms_max, Date.now() - started);
  if (res.status >= 500 && res.status !== 503) violation(`${res.status} on ${path}: ${text.slice(0, 200)}`);
  if (res.headers.get('x-request-id') !== nonce) violation(`mixed: sent ${nonce}, got x-request-id ${res.headers.get('x-request-id')}`);
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* checked by the kind */ }
  return { status: res.status, body };
}

async function runScript(n) {
  const made = await send('/v1/scripts', json({ code: '({ nonce, n: n * 2 })' }), n + '-c');
  if (!made) return;
  if (made.status === 503 || made.status === 429) return;
  if (made.status !== 201 || !made.body || typeof made.body.id !== 'string') return violation(`script create: ${made.status} ${JSON.stringify(made.body)}`);
  const ran = await send(`/v1/scripts/${made.body.id}/run`, json({ globals: { nonce: n, n: 4 } }), n + '-r');
  if (ran && ran.status !== 503 && !(ran.status === 200 && ran.body.value && ran.body.value.nonce === n && ran.body.value.n === 8)) {
    violation(`script run: ${ran.status} ${JSON.stringify(ran.body).slice(0, 200)}`);
  }
  const gone = await send(`/v1/scripts/${made.body.id}`, { method: 'DELETE' }, n + '-d');
  if (gone && gone.status >= 300) violation(`script delete: ${gone.status}`);
}

async function loop(id) {
  while (Date.now() < deadline) {
    const kind = table[(Math.random() * table.length) | 0];
    const n = `n${id}-${seq++}-${Math.random().toString(36).slice(2, 10)}`;
    stats.by_kind[kind] = (stats.by_kind[kind] || 0) + 1;
    if (kind === 'script') { await runScript(n); continue; }
    const [, build, check] = KINDS[kind];
    const [path, init] = build(n);
    const r = await send(path, init, n);
    if (!r) continue;
    if (r.status === 503) { stats.status_503++; continue; }
    if (!check(r.status, r.body || {}, n)) violation(`${kind}: unexpected ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }
}

(async () => {
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  const seconds = (Date.now() - started) / 1000;
  console.log(JSON.stringify({ seconds, concurrency, rps: Math.round(stats.requests / seconds), ...stats }));
  for (const v of violations) console.error(`VIOLATION ${v}`);
  process.exit(stats.violations ? 1 : 0);
})();
