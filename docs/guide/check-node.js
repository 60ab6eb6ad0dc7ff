#!/usr/bin/env node
// Runs every JavaScript block of docs/guide/*.md (the Node `vm`, vm2 and isolated-vm side of
// each page), each in a fresh `node` process, so the guide cannot rot.
//
//   node docs/guide/check-node.js [PAGE.md ...]
//
// - ```js blocks must run and exit 0 (they check themselves with node:assert).
// - ```js,ignore-node blocks are not run; their first line must be a `// not run: REASON`
//   comment (a demo that would hang or harm the machine, e.g. node's unbounded microtasks).
// - Blocks that require('vm2') or require('isolated-vm') run when bench/install.sh has
//   installed them (bench/node_modules), and are reported as skipped otherwise. Every skip is
//   printed as `skip PAGE:LINE: WHY`; crates/sandvm-guide/tests/node_blocks.rs fails on a skip
//   whose block is not in its SKIP_REASONS table (a missing peer is only a notice outside CI).
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const here = __dirname;
const root = path.resolve(here, '..', '..');
const nodeModules = path.join(root, 'bench', 'node_modules');

function blocks(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  const re = /^```([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm;
  let m;
  while ((m = re.exec(text))) {
    const info = m[1].trim();
    const line = text.slice(0, m.index).split('\n').length;
    out.push({ info, code: m[2], line });
  }
  return out;
}

function available(mod) {
  try {
    require(require.resolve(mod, { paths: [nodeModules] })); // a native addon may be missing
    return true;
  } catch {
    return false;
  }
}

const pages = process.argv.length > 2
  ? process.argv.slice(2)
  : fs.readdirSync(here).filter((f) => f.endsWith('.md')).sort().map((f) => path.join(here, f));
let ran = 0;
let skipped = 0;
const failures = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sandvm-guide-node-'));
for (const page of pages) {
  for (const b of blocks(page)) {
    const lang = b.info.split(/[ ,]/)[0];
    if (lang !== 'js' && lang !== 'javascript') continue;
    const where = `${path.relative(root, page)}:${b.line}`;
    if (b.info.includes('ignore-node')) {
      if (!/^\/\/ not run: \S/.test(b.code)) failures.push(`${where}: an ignore-node block needs a "// not run: REASON" first line`);
      console.log(`skip ${where}: ${b.code.split('\n')[0].replace(/^\/\/ /, '')}`);
      skipped++;
      continue;
    }
    const needs = ['vm2', 'isolated-vm'].filter((m) => b.code.includes(`require('${m}')`));
    const missing = needs.filter((m) => !available(m));
    if (missing.length) {
      console.log(`skip ${where}: ${missing.join(', ')} not installed or not built (run bench/install.sh)`);
      skipped++;
      continue;
    }
    const file = path.join(tmp, `block-${ran}.js`);
    fs.writeFileSync(file, b.code);
    const r = spawnSync(process.execPath, [file], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 30000,
      env: { ...process.env, NODE_PATH: nodeModules },
    });
    ran++;
    if (r.status !== 0) {
      failures.push(`${where}: exit ${r.status}${r.signal ? ` (${r.signal})` : ''}\n${r.stdout}${r.stderr}`);
    } else {
      console.log(`ok   ${where}`);
    }
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
for (const f of failures) console.error(`FAIL ${f}\n`);
console.log(`check-node: ${ran} run, ${skipped} skipped, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
