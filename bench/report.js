#!/usr/bin/env node
// Turns the JSON of `sandvm bench --json` and `bench/peers.js --json` into bench/results.md (a
// table of ns/op per workload and engine, ratios sandvm/peer, and the targets) and
// docs/bench.svg (a bar chart of the ratios, hand-written SVG).
//
//   node bench/report.js --sandvm S.json [--sandvm-memory M.json] --peers P.json \
//        [--meta META.json] --md bench/results.md --svg docs/bench.svg
'use strict';

const fs = require('node:fs');

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['sandvm', 'peers', 'md', 'svg']) {
    if (!a[k]) {
      console.error(`report.js: --${k} is required`);
      process.exit(2);
    }
  }
  return a;
}

const args = parseArgs(process.argv.slice(2));
const read = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
const sandvm = read(args.sandvm).workloads;
if (args['sandvm-memory']) {
  // memory_per_context measured in a fresh process replaces the one of the full run.
  const fresh = read(args['sandvm-memory']).workloads.find((w) => w.name === 'memory_per_context');
  if (fresh) {
    const i = sandvm.findIndex((w) => w.name === 'memory_per_context');
    if (i >= 0) sandvm[i] = fresh;
    else sandvm.push(fresh);
  }
}
const peers = read(args.peers);
const meta = args.meta ? read(args.meta) : {};

const ENGINES = ['sandvm', 'node:vm', 'vm2', 'isolated-vm'];
const PEERS = ENGINES.slice(1);
const get = (engine, name) =>
  engine === 'sandvm'
    ? sandvm.find((w) => w.name === name)
    : peers.workloads.find((w) => w.engine === engine && w.name === name);
const unavailable = peers.unavailable || {};

// Rows: [label, workload, value(w) -> number, unit, description]
const ns = (w) => w.ns_per_op;
const ROWS = [
  ['context_create', 'context_create', ns, 'ns', 'fresh context + `1+1` (isolated-vm: a context in a warm isolate)'],
  ['context_create_frozen', 'context_create_frozen', ns, 'ns', 'fresh context with frozen intrinsics (lockdown) + `1+1`'],
  ['pooled_context', 'pooled_context', ns, 'ns', 'start a job from the pool, jobs back to back'],
  ['pooled_start_p50', 'pooled_start_latency', (w) => w.extra.p50_ns, 'ns', 'submit-to-result latency of a tiny job on a warm, unsaturated pool (p50)'],
  ['pooled_start_p99', 'pooled_start_latency', (w) => w.extra.p99_ns, 'ns', 'the same, p99'],
  ['isolate_create', 'isolate_create', ns, 'ns', 'isolated-vm only: new isolate + context + `1+1`'],
  ['eval_small', 'eval_small', ns, 'ns', 'compile + run `[1,2,3].map(v=>v*2).reduce((a,b)=>a+b)` in a warm context'],
  ['script_run_cached', 'script_run_cached', ns, 'ns', 'run the precompiled `globalThis.x = (globalThis.x|0)+1` in a warm context'],
  ['timeout_run', 'timeout_overhead', (w) => w.extra.with_timeout_ns, 'ns', 'the `eval_small` source run with a timeout'],
  ['timeout_overhead', 'timeout_overhead', ns, 'ns', 'the same run: with a timeout minus without'],
  ['timeout_overhead_pct', 'timeout_overhead', (w) => w.extra.overhead_pct, '%', 'the same, in percent'],
  ['fib27', 'fib27', ns, 'ns', 'recursive fib(27) at global scope'],
  ['json_roundtrip_10kb', 'json_roundtrip_10kb', ns, 'ns', '5.6 KB object in as a global, `JSON.stringify` out'],
  ['template_render', 'template_render', ns, 'ns', 'render a ~2 KB Handlebars template (50 fields)'],
  ['memory_per_context', 'memory_per_context', (w) => w.extra.bytes_per_context ?? w.extra.rss_bytes_per_context, 'B', '1,000 live contexts: RSS / 1,000'],
];

function fmt(v, unit) {
  if (v === undefined || v === null || Number.isNaN(v)) return 'n/a';
  if (unit === '%') return `${v >= 0 ? '+' : ''}${v.toFixed(1)} %`;
  if (unit === 'B') return v >= 1024 * 1024 ? `${(v / 1048576).toFixed(2)} MiB` : `${(v / 1024).toFixed(1)} KiB`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} ms`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} µs`;
  return `${v.toFixed(0)} ns`;
}

const value = (engine, row) => {
  const w = get(engine, row[1]);
  return w ? row[2](w) : undefined;
};
const ratio = (row, peer) => {
  if (row[3] === '%') return undefined;
  const a = value('sandvm', row);
  const b = value(peer, row);
  return a > 0 && b > 0 ? a / b : undefined;
};
const fmtRatio = (r) => (r === undefined ? 'n/a' : r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2));

// ---------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------
const row = (name) => ROWS.find((r) => r[0] === name);
const pct = (name) => get('sandvm', name)?.extra?.overhead_vs_raw_pct;
const nodeCtx = value('node:vm', row('context_create'));
const pooled = value('sandvm', row('pooled_start_p50'));
const rawRatio = (name) => get('sandvm', name)?.extra?.[`ratio_vs_raw_${name}`];
const frozen = get('sandvm', 'context_create_frozen')?.extra?.ratio_vs_context_create;
const targets = [
  ['fresh context ≤ 1/3 of node:vm', ratio(row('context_create'), 'node:vm'), (r) => r <= 1 / 3, fmtRatio],
  ['pooled start p50 ≤ 25 µs', pooled, (r) => r <= 25000, (r) => fmt(r, 'ns')],
  ['pooled start p50 ≤ 1/20 of node:vm createContext + run', pooled && nodeCtx ? pooled / nodeCtx : undefined, (r) => r <= 0.05, fmtRatio],
  ['frozen context ≤ 2x a plain one', frozen, (r) => r <= 2, fmtRatio],
  ['warm eval ≤ node:vm', ratio(row('eval_small'), 'node:vm'), (r) => r <= 1, fmtRatio],
  ['script_run_cached ≤ 1/10 of node:vm', ratio(row('script_run_cached'), 'node:vm'), (r) => r <= 0.1, fmtRatio],
  ['script_run_cached ≤ 3x raw rquickjs', rawRatio('script_run_cached'), (r) => r <= 3, fmtRatio],
  ['eval_small ≤ 1.2x raw rquickjs', rawRatio('eval_small'), (r) => r <= 1.2, fmtRatio],
  ['json_roundtrip_10kb ≤ 0.7x isolated-vm', ratio(row('json_roundtrip_10kb'), 'isolated-vm'), (r) => r <= 0.7, fmtRatio],
  ['timeout overhead ≤ 1 %', value('sandvm', row('timeout_overhead_pct')), (r) => r <= 1, (r) => fmt(r, '%')],
  ['memory per context ≤ 1/3 of node:vm', ratio(row('memory_per_context'), 'node:vm'), (r) => r <= 1 / 3, fmtRatio],
  ['overhead over raw rquickjs ≤ 10 % (context_create)', pct('context_create'), (r) => r <= 10, (r) => fmt(r, '%')],
  ['overhead over raw rquickjs ≤ 10 % (eval_small)', pct('eval_small'), (r) => r <= 10, (r) => fmt(r, '%')],
];

// ---------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------
const present = ROWS.filter((r) => ENGINES.some((e) => value(e, r) !== undefined));
let md = '# Benchmarks: sandvm vs node:vm, vm2, isolated-vm\n\n';
md += 'Produced by `bench/run.sh` (do not edit by hand): `sandvm bench --json` and ';
md += '`node --expose-gc bench/peers.js --json`, one run each, same machine. ns/op is the median ';
md += 'of several batches; **ratio** is sandvm / peer (below 1: sandvm is faster or smaller).\n\n';
if (meta.machine) {
  md += `Machine: ${meta.machine}. ${meta.versions || ''}\n`;
  md += `Load average before / after: ${meta.load_before} / ${meta.load_after} ` +
    `(${meta.cpus} CPUs, shared with other builds: expect noise, prefer the ratios).\n\n`;
}
md += '| workload | sandvm | node:vm | vm2 | isolated-vm | ratio vs node:vm | vs vm2 | vs isolated-vm |\n';
md += '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n';
for (const r of present) {
  const cells = ENGINES.map((e) => (unavailable[e] ? 'n/a' : fmt(value(e, r), r[3])));
  const ratios = PEERS.map((p) => fmtRatio(ratio(r, p)));
  md += `| \`${r[0]}\` | ${cells.join(' | ')} | ${ratios.join(' | ')} |\n`;
}
md += '\n';
for (const r of present) md += `- \`${r[0]}\`: ${r[4]}.\n`;
const engineHeap = get('sandvm', 'memory_per_context')?.extra?.engine_heap_bytes_per_context;
if (engineHeap) md += `- sandvm's engine-accounted heap per context: ${fmt(engineHeap, 'B')}.\n`;
const perIsolate = get('isolated-vm', 'memory_per_context')?.extra?.rss_bytes_per_isolate;
if (perIsolate) md += `- isolated-vm RSS per isolate (its unit of limits): ${fmt(perIsolate, 'B')}.\n`;
for (const [e, why] of Object.entries(unavailable)) md += `- ${e}: n/a — ${why}.\n`;
md += '\n## Targets\n\n| target | measured | met |\n| --- | ---: | :---: |\n';
for (const [label, v, ok, f] of targets) {
  md += `| ${label} | ${v === undefined ? 'n/a' : f(v)} | ${v === undefined ? 'n/a' : ok(v) ? 'yes' : '**no**'} |\n`;
}
const fibIvm = ratio(row('fib27'), 'isolated-vm');
if (fibIvm) {
  md += `\nfib27: isolated-vm (V8's JIT) is ${fibIvm.toFixed(1)}x faster than sandvm (QuickJS-ng's interpreter).\n`;
}
fs.writeFileSync(args.md, md);

// ---------------------------------------------------------------------------------------
// SVG: horizontal bars of log2(sandvm / peer) around 1x, one group per workload.
// ---------------------------------------------------------------------------------------
const COLORS = { 'node:vm': '#3c873a', vm2: '#d97706', 'isolated-vm': '#2563eb' };
const chartRows = present.filter((r) => r[3] !== '%' && PEERS.some((p) => ratio(r, p) !== undefined));
const barH = 12;
const gap = 3;
const groupH = PEERS.length * (barH + gap) + 12;
const left = 170;
const width = 760;
const plotW = width - left - 30;
const top = 58;
const height = top + chartRows.length * groupH + 40;
const maxLog = Math.max(
  3,
  ...chartRows.flatMap((r) => PEERS.map((p) => Math.abs(Math.log2(ratio(r, p) || 1)))).map(Math.ceil),
);
const x = (r) => left + plotW / 2 + (Math.log2(r) / maxLog) * (plotW / 2);
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">\n`;
svg += `<rect width="100%" height="100%" fill="#ffffff"/>\n`;
svg += `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">sandvm time (or memory) relative to each peer — log scale</text>\n`;
svg += `<text x="${x(1) - 8}" y="36" text-anchor="end" fill="#15803d">◀ sandvm faster / smaller</text>\n`;
svg += `<text x="${x(1) + 8}" y="36" fill="#b91c1c">sandvm slower / larger ▶</text>\n`;
let lx = left;
for (const p of PEERS) {
  svg += `<rect x="${lx}" y="42" width="10" height="10" fill="${COLORS[p]}"/><text x="${lx + 14}" y="51">vs ${esc(p)}${unavailable[p] ? ' (n/a)' : ''}</text>\n`;
  lx += 120;
}
for (let k = -maxLog; k <= maxLog; k++) {
  const gx = x(2 ** k).toFixed(1);
  svg += `<line x1="${gx}" y1="${top}" x2="${gx}" y2="${height - 30}" stroke="${k === 0 ? '#111' : '#e5e7eb'}"/>\n`;
  const label = k >= 0 ? `${2 ** k}x` : `1/${2 ** -k}`;
  svg += `<text x="${gx}" y="${height - 16}" text-anchor="middle" fill="#6b7280">${label}</text>\n`;
}
chartRows.forEach((r, i) => {
  const gy = top + i * groupH + 6;
  svg += `<text x="${left - 8}" y="${gy + groupH / 2 - 4}" text-anchor="end" font-family="monospace">${esc(r[0])}</text>\n`;
  PEERS.forEach((p, j) => {
    const v = ratio(r, p);
    const y = gy + j * (barH + gap);
    if (v === undefined) return;
    const x0 = Math.min(x(1), x(v));
    const w = Math.max(1, Math.abs(x(v) - x(1)));
    svg += `<rect x="${x0.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[p]}"><title>${esc(r[0])}: sandvm/${esc(p)} = ${fmtRatio(v)}</title></rect>\n`;
    const tx = v < 1 ? x0 - 4 : x0 + w + 4;
    svg += `<text x="${tx.toFixed(1)}" y="${y + barH - 2}" text-anchor="${v < 1 ? 'end' : 'start'}" fill="#374151">${fmtRatio(v)}</text>\n`;
  });
});
svg += '</svg>\n';
fs.writeFileSync(args.svg, svg);
console.log(md);
