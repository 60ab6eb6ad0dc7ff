// Regenerates expected.json: what Node's console.log (util.format) prints for each case of
// cases.js. Run with Node 20: `node crates/sandvm/tests/inspect_parity/gen.js`.
'use strict';
const util = require('util');
const fs = require('fs');
const path = require('path');
const cases = require('./cases.js');
const out = [];
for (const src of cases) {
  const args = new Function(`return ${src}`)();
  out.push([src, util.format(...args)]);
}
fs.writeFileSync(path.join(__dirname, 'expected.json'), JSON.stringify({ node: process.version, cases: out }, null, 1) + '\n');
console.log(`${out.length} cases written with Node ${process.version}`);
