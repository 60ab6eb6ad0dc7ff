#!/usr/bin/env node
// The workloads of `sandvm bench` for node:vm and its peers (vm2, isolated-vm), measured the
// same way (median ns/op of several batches, batch size calibrated to 1/20 of the budget).
//
//   node --expose-gc bench/peers.js [--json] [--filter NAME] [--budget-ms N] [--engines a,b]
//
// Prints `{"workloads":[{"engine","name","iterations","ns_per_op","extra":{}}],
// "unavailable":{engine: reason}}`: the shape of `sandvm bench --json`, with an `engine` field.
// memory_per_context runs in a fresh child process per engine (so memory freed by earlier
// workloads cannot be reused and hide the cost), with --expose-gc and a gc() before each reading.
'use strict';

const vm = require('node:vm');
const { execFileSync } = require('node:child_process');

function parseArgs(argv) {
  const args = { json: false, filter: null, budgetMs: 600, engines: null, memoryChild: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--filter') args.filter = argv[++i];
    else if (a === '--budget-ms') args.budgetMs = Math.max(10, Number(argv[++i]));
    else if (a === '--engines') args.engines = argv[++i].split(',');
    else if (a === '--memory-child') args.memoryChild = argv[++i];
    else {
      console.error(`peers.js: unknown argument ${a}`);
      process.exit(2);
    }
  }
  return args;
}

/** Same algorithm as `measure` in crates/sandvm-cli/src/bench.rs. */
function measure(budgetMs, f) {
  const budget = BigInt(Math.round(budgetMs * 1e6));
  let batch = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) f();
    if (process.hrtime.bigint() - t >= budget / 20n || batch >= 1 << 24) break;
    batch *= 2;
  }
  const samples = [];
  const start = process.hrtime.bigint();
  let total = 0;
  while (samples.length < 5 || (process.hrtime.bigint() - start < budget && samples.length < 50)) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) f();
    samples.push(Number(process.hrtime.bigint() - t) / batch);
    total += batch;
  }
  samples.sort((a, b) => a - b);
  return [total, samples[Math.floor(samples.length / 2)]];
}

/** `measure` for async work: the same batching, each call awaited. */
async function measureAsync(budgetMs, f) {
  const budget = BigInt(Math.round(budgetMs * 1e6));
  let batch = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await f();
    if (process.hrtime.bigint() - t >= budget / 20n || batch >= 1 << 24) break;
    batch *= 2;
  }
  const samples = [];
  const start = process.hrtime.bigint();
  let total = 0;
  while (samples.length < 5 || (process.hrtime.bigint() - start < budget && samples.length < 50)) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await f();
    samples.push(Number(process.hrtime.bigint() - t) / batch);
    total += batch;
  }
  samples.sort((a, b) => a - b);
  return [total, samples[Math.floor(samples.length / 2)]];
}

/** Same as `measure_pair` (proposed for bench.rs): alternating batches of `a` and `b`, so load
 * changes on a shared machine hit both alike. Returns [iterations, median a, median b]. */
function measurePair(budgetMs, a, b) {
  const budget = BigInt(Math.round(budgetMs * 1e6));
  let batch = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) {
      a();
      b();
    }
    if (process.hrtime.bigint() - t >= budget / 20n || batch >= 1 << 24) break;
    batch *= 2;
  }
  const sa = [];
  const sb = [];
  const start = process.hrtime.bigint();
  let total = 0;
  while (sa.length < 5 || (process.hrtime.bigint() - start < budget && sa.length < 50)) {
    let t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) a();
    sa.push(Number(process.hrtime.bigint() - t) / batch);
    t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) b();
    sb.push(Number(process.hrtime.bigint() - t) / batch);
    total += batch;
  }
  const med = (v) => v.sort((x, y) => x - y)[Math.floor(v.length / 2)];
  return [total, med(sa), med(sb)];
}

/** The timeout_overhead workload from a run without and a run with a timeout: ns/op is the
 * overhead (with minus without), the percentage is in extra (same contract as bench.rs). */
function timeoutOverhead(b, without, withTimeout) {
  measurePair(b / 4, without, withTimeout); // warm up (JIT tiers)
  const [n, base, timed] = measurePair(b, without, withTimeout);
  return {
    m: [n, timed - base],
    extra: { without_timeout_ns: base, with_timeout_ns: timed, overhead_pct: (timed / base - 1) * 100 },
  };
}

function gc() {
  if (typeof global.gc !== 'function') throw new Error('run node with --expose-gc');
  for (let i = 0; i < 3; i++) global.gc();
}

function rss() {
  return process.memoryUsage().rss;
}

// The same sources as EVAL_SRC and SCRIPT_SRC in crates/sandvm-cli/src/bench.rs.
const EVAL_SRC = '[1,2,3].map(v=>v*2).reduce((a,b)=>a+b)';
const SCRIPT = 'globalThis.x = (globalThis.x|0)+1';
const FIB = 'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }';

/** The 10 KB object of `json_roundtrip_10kb` in bench.rs, key for key. */
function data10kb() {
  const items = [];
  for (let i = 0; i < 100; i++) items.push({ id: i, name: `item-${i}`, price: i * 1.5, tags: ['a', 'b'] });
  return { items };
}

function sink(x) {
  if (x === 'never') console.log(x); // keeps results alive without printing
}

// ---------------------------------------------------------------------------------------
// Engines: each returns { name: (budgetMs) => workload } and a memory probe.
// ---------------------------------------------------------------------------------------

function nodeVm() {
  return {
    context_create(b) {
      return { m: measure(b, () => sink(vm.runInContext('1+1', vm.createContext({})))) };
    },
    eval_small(b) {
      const ctx = vm.createContext({});
      return { m: measure(b, () => sink(vm.runInContext(EVAL_SRC, ctx))) };
    },
    script_run_cached(b) {
      const ctx = vm.createContext({});
      const script = new vm.Script(SCRIPT, { filename: 'bench.js' });
      return { m: measure(b, () => sink(script.runInContext(ctx))) };
    },
    timeout_overhead(b) {
      const ctx = vm.createContext({});
      return timeoutOverhead(
        b,
        () => sink(vm.runInContext(EVAL_SRC, ctx)),
        () => sink(vm.runInContext(EVAL_SRC, ctx, { timeout: 10000 })),
      );
    },
    fib27(b) {
      const ctx = vm.createContext({});
      vm.runInContext(FIB, ctx);
      return { m: measure(b, () => sink(vm.runInContext('fib(27)', ctx))) };
    },
    json_roundtrip_10kb(b) {
      const ctx = vm.createContext({});
      const data = data10kb();
      // node:vm hands the host object in by reference (no copy): cheaper, and the reason
      // guest code can reach host prototypes through it.
      return {
        m: measure(b, () => {
          ctx.data = data;
          sink(vm.runInContext('JSON.stringify(data)', ctx));
        }),
        extra: { json_bytes: JSON.stringify(data).length, by_reference: true },
      };
    },
    memory(n) {
      const keep = [];
      for (let i = 0; i < n; i++) {
        const ctx = vm.createContext({});
        vm.runInContext('1+1', ctx);
        keep.push(ctx);
      }
      return keep;
    },
  };
}

function vm2() {
  const { VM, VMScript } = require('vm2');
  return {
    context_create(b) {
      return { m: measure(b, () => sink(new VM().run('1+1'))) };
    },
    eval_small(b) {
      const v = new VM();
      return { m: measure(b, () => sink(v.run(EVAL_SRC))) };
    },
    script_run_cached(b) {
      const v = new VM();
      const script = new VMScript(SCRIPT, 'bench.js').compile();
      return { m: measure(b, () => sink(v.run(script))) };
    },
    timeout_overhead(b) {
      const plain = new VM();
      const timed = new VM({ timeout: 10000 });
      return timeoutOverhead(b, () => sink(plain.run(EVAL_SRC)), () => sink(timed.run(EVAL_SRC)));
    },
    fib27(b) {
      const v = new VM();
      v.run(FIB);
      return { m: measure(b, () => sink(v.run('fib(27)'))) };
    },
    json_roundtrip_10kb(b) {
      const v = new VM();
      const data = data10kb();
      // vm2 wraps host objects in proxies (the bridge) instead of copying them.
      return {
        m: measure(b, () => {
          v.setGlobal('data', data);
          sink(v.run('JSON.stringify(data)'));
        }),
        extra: { json_bytes: JSON.stringify(data).length, by_reference: true },
      };
    },
    memory(n) {
      const keep = [];
      for (let i = 0; i < n; i++) {
        const v = new VM();
        v.run('1+1');
        keep.push(v);
      }
      return keep;
    },
  };
}

function isolatedVm() {
  const ivm = require('isolated-vm');
  const isolate = () => new ivm.Isolate({ memoryLimit: 64 });
  return {
    // A context in a warm isolate: the same unit as a sandvm Context in a warm Runtime.
    context_create(b) {
      const iso = isolate();
      const r = measure(b, () => {
        const ctx = iso.createContextSync();
        sink(ctx.evalSync('1+1'));
        ctx.release();
      });
      iso.dispose();
      return { m: r };
    },
    // A new isolate (isolated-vm's unit of limits, like a sandvm Runtime) with one context.
    isolate_create(b) {
      return {
        m: measure(b, () => {
          const iso = isolate();
          sink(iso.createContextSync().evalSync('1+1'));
          iso.dispose();
        }),
      };
    },
    eval_small(b) {
      const ctx = isolate().createContextSync();
      return { m: measure(b, () => sink(ctx.evalSync(EVAL_SRC))) };
    },
    script_run_cached(b) {
      const iso = isolate();
      const ctx = iso.createContextSync();
      const script = iso.compileScriptSync(SCRIPT, { filename: 'bench.js' });
      return { m: measure(b, () => sink(script.runSync(ctx))) };
    },
    timeout_overhead(b) {
      const ctx = isolate().createContextSync();
      return timeoutOverhead(b, () => sink(ctx.evalSync(EVAL_SRC)), () => sink(ctx.evalSync(EVAL_SRC, { timeout: 10000 })));
    },
    fib27(b) {
      const ctx = isolate().createContextSync();
      ctx.evalSync(FIB);
      return { m: measure(b, () => sink(ctx.evalSync('fib(27)'))) };
    },
    json_roundtrip_10kb(b) {
      const ctx = isolate().createContextSync();
      const data = data10kb();
      const global = ctx.global;
      // A deep copy into the isolate, as sandvm does.
      return {
        m: measure(b, () => {
          global.setSync('data', new ivm.ExternalCopy(data).copyInto());
          sink(ctx.evalSync('JSON.stringify(data)'));
        }),
        extra: { json_bytes: JSON.stringify(data).length, by_reference: false },
      };
    },
    memory(n) {
      const iso = new ivm.Isolate({ memoryLimit: 1024 });
      const keep = [iso];
      for (let i = 0; i < n; i++) {
        const ctx = iso.createContextSync();
        ctx.evalSync('1+1');
        keep.push(ctx);
      }
      return keep;
    },
    memoryIsolates(n) {
      const keep = [];
      for (let i = 0; i < n; i++) {
        const iso = isolate();
        iso.createContextSync().evalSync('1+1');
        keep.push(iso);
      }
      return keep;
    },
  };
}

// The npm package of this repository (bindings/node), built with `npm run build` there.
function sandvmNode() {
  const { Sandbox } = require('../bindings/node');
  const HOST_CALLS = 100;
  return {
    context_create(b) {
      return {
        m: measure(b, () => {
          const s = new Sandbox();
          sink(s.runSync('1+1'));
          s.dispose();
        }),
      };
    },
    eval_small(b) {
      const s = new Sandbox();
      return { m: measure(b, () => sink(s.runSync('1+1'))) };
    },
    script_run_cached(b) {
      const s = new Sandbox();
      const script = s.compile(SCRIPT, { filename: 'bench.js' });
      return { m: measure(b, () => sink(script.runSync(s))) };
    },
    timeout_overhead(b) {
      // Every sandvm run has a deadline (default 1 s): both sides carry one.
      const plain = new Sandbox();
      const timed = new Sandbox({ timeout: 10000 });
      return timeoutOverhead(b, () => sink(plain.runSync(LOOP)), () => sink(timed.runSync(LOOP)));
    },
    fib27(b) {
      const s = new Sandbox({ timeout: 60000 });
      s.runSync(FIB);
      return { m: measure(b, () => sink(s.runSync('fib(27)'))) };
    },
    json_roundtrip_10kb(b) {
      const s = new Sandbox();
      const data = data10kb();
      // Copied in and the string copied out, as isolated-vm's ExternalCopy.
      return {
        m: measure(b, () => {
          s.setGlobal('data', data);
          sink(s.runSync('JSON.stringify(data)'));
        }),
        extra: { json_bytes: JSON.stringify(data).length, by_reference: false },
      };
    },
    async async_run_roundtrip(b) {
      const s = new Sandbox();
      return { m: await measureAsync(b, async () => sink(await s.run('1'))) };
    },
    async async_host_call(b) {
      const s = new Sandbox();
      s.expose('h', async (x) => x + 1);
      const code = `(async () => { let t = 0; for (let i = 0; i < ${HOST_CALLS}; i++) t += await h(i); return t })()`;
      const [n, ns] = await measureAsync(b, async () => sink(await s.run(code)));
      return { m: [n * HOST_CALLS, ns / HOST_CALLS], extra: { calls_per_run: HOST_CALLS } };
    },
    memory(n) {
      const keep = [];
      for (let i = 0; i < n; i++) {
        const s = new Sandbox();
        s.runSync('1+1');
        keep.push(s);
      }
      return keep;
    },
  };
}

const ENGINES = { 'node:vm': nodeVm, vm2, 'isolated-vm': isolatedVm, sandvm: sandvmNode };
const ORDER = [
  'context_create',
  'isolate_create',
  'eval_small',
  'script_run_cached',
  'timeout_overhead',
  'fib27',
  'json_roundtrip_10kb',
  'async_run_roundtrip',
  'async_host_call',
  'memory_per_context',
];

/** In a fresh process: 1,000 live contexts, RSS delta / 1,000 after gc(). */
function memoryChild(engineName) {
  const N = 1000;
  const engine = ENGINES[engineName]();
  engine.memory(5); // load code paths and lazy builtins before the baseline
  gc();
  const rss0 = rss();
  const t = process.hrtime.bigint();
  const keep = engine.memory(N);
  const ns = Number(process.hrtime.bigint() - t) / N;
  gc();
  const perContext = Math.round((rss() - rss0) / N);
  const extra = { bytes_per_context: perContext, rss_bytes_per_context: perContext };
  if (engine.memoryIsolates) {
    const M = 100;
    gc();
    const r0 = rss();
    const isolates = engine.memoryIsolates(M);
    gc();
    extra.rss_bytes_per_isolate = Math.round((rss() - r0) / M);
    sink(isolates.length);
  }
  sink(keep.length);
  process.stdout.write(JSON.stringify({ name: 'memory_per_context', iterations: N, ns_per_op: ns, extra }));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.memoryChild) return memoryChild(args.memoryChild);
  const out = { workloads: [], unavailable: {} };
  for (const engineName of args.engines || Object.keys(ENGINES)) {
    let engine;
    try {
      engine = ENGINES[engineName]();
    } catch (e) {
      out.unavailable[engineName] = String(e.message).split('\n')[0];
      if (!args.json) console.log(`${engineName}: n/a (${out.unavailable[engineName]})`);
      continue;
    }
    for (const name of ORDER) {
      if (args.filter && !name.includes(args.filter)) continue;
      let w;
      if (name === 'memory_per_context') {
        const stdout = execFileSync(
          process.execPath,
          ['--expose-gc', __filename, '--memory-child', engineName],
          { encoding: 'utf8', maxBuffer: 1 << 20 },
        );
        w = JSON.parse(stdout);
      } else if (engine[name]) {
        const r = await engine[name](args.budgetMs);
        w = { name, iterations: r.m[0], ns_per_op: r.m[1], extra: r.extra || {} };
      } else {
        continue;
      }
      w = { engine: engineName, ...w };
      out.workloads.push(w);
      if (!args.json) {
        const extra = Object.keys(w.extra).length ? JSON.stringify(w.extra) : '';
        console.log(
          `${engineName.padEnd(12)} ${w.name.padEnd(22)} ${w.ns_per_op.toFixed(0).padStart(14)} ns/op ` +
            `${String(w.iterations).padStart(10)} iters  ${extra}`,
        );
      }
    }
  }
  if (args.json) console.log(JSON.stringify(out));
}

if (require.main === module) main();
module.exports = { measure };
