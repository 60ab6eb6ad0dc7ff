#!/usr/bin/env node
// Offline dependency policy check, run by test.sh (the equivalent of `cargo deny check
// licenses bans sources`, which needs cargo-deny installed: see scripts/deny.sh and deny.toml).
//   - every third-party crate in the build graph has a license expression made only of the
//     licenses allowed in deny.toml (an OR needs one allowed side, an AND needs all);
//   - every crate comes from crates.io or is a path crate of this workspace (no git, no other
//     registry);
//   - crates present in several versions are listed (a warning, as in deny.toml).
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const deny = fs.readFileSync(path.join(root, 'deny.toml'), 'utf8');
const allowBlock = /\[licenses\][\s\S]*?allow\s*=\s*\[([\s\S]*?)\]/.exec(deny);
if (!allowBlock) throw new Error('deny.toml: no [licenses] allow list');
const allowed = new Set([...allowBlock[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]));

const meta = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--locked'], { cwd: root, maxBuffer: 1 << 28 }).toString());
const used = new Set(meta.resolve.nodes.map((n) => n.id));
const problems = [];
const versions = new Map();

// A tiny SPDX evaluator: OR of ANDs, parentheses, `WITH` exceptions kept as one term, and the
// legacy `/` separator meaning OR.
function ok(expr) {
  const tokens = expr.replace(/\//g, ' OR ').replace(/\(/g, ' ( ').replace(/\)/g, ' ) ').split(/\s+/).filter(Boolean);
  let i = 0;
  const term = () => {
    if (tokens[i] === '(') { i++; const v = or(); i++; return v; }
    let t = tokens[i++];
    if (tokens[i] === 'WITH') { t += ' WITH ' + tokens[i + 1]; i += 2; }
    return allowed.has(t);
  };
  const and = () => { let v = term(); while (tokens[i] === 'AND') { i++; v = term() && v; } return v; };
  const or = () => { let v = and(); while (tokens[i] === 'OR') { i++; v = and() || v; } return v; };
  return or();
}

for (const p of meta.packages) {
  if (!used.has(p.id)) continue;
  const local = p.source === null;
  if (!local && p.source !== 'registry+https://github.com/rust-lang/crates.io-index') {
    problems.push(`${p.name} ${p.version}: source ${p.source} is not crates.io`);
  }
  if (local) continue;
  if (!p.license) problems.push(`${p.name} ${p.version}: no license expression`);
  else if (!ok(p.license)) problems.push(`${p.name} ${p.version}: license "${p.license}" is not allowed by deny.toml`);
  versions.set(p.name, [...(versions.get(p.name) || []), p.version]);
}
const dups = [...versions].filter(([, v]) => v.length > 1).map(([n, v]) => `${n} (${v.join(', ')})`);
if (dups.length) console.log(`warning: several versions of: ${dups.join('; ')}`);
if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`dependency check: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`dependency check: ${[...versions.keys()].length} third-party crates, licenses and sources ok`);
