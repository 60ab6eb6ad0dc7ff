'use strict';
// Builds the native addon with cargo and places it at ./sandvm.node.
// `node scripts/build-addon.js [--release]`. Uses the workspace's target directory (or
// CARGO_TARGET_DIR), so CI reuses what `cargo test --workspace` already compiled.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const release = process.argv.includes('--release');
const args = ['build', '-p', 'sandvm-node', '--message-format=json-render-diagnostics'];
if (release) args.push('--release');
const res = spawnSync('cargo', args, { cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 });
if (res.status !== 0) {
  console.error(`cargo ${args.join(' ')} failed`);
  process.exit(res.status || 1);
}
let lib = null;
for (const line of res.stdout.toString().split('\n')) {
  if (!line.startsWith('{')) continue;
  const msg = JSON.parse(line);
  if (msg.reason === 'compiler-artifact' && msg.target && msg.target.name === 'sandvm_node') {
    lib = (msg.filenames || []).find((f) => /\.(so|dylib|dll)$/.test(f)) || lib;
  }
}
if (!lib) {
  console.error('the addon library was not found in cargo\'s output');
  process.exit(1);
}
const out = path.join(__dirname, '..', 'sandvm.node');
fs.copyFileSync(lib, `${out}.tmp`);
fs.renameSync(`${out}.tmp`, out);
console.log(`built ${path.relative(process.cwd(), out)} (${release ? 'release' : 'debug'}) from ${lib}`);
