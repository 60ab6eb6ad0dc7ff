// Node's side of the compatibility figures: runs the same scorers and data as
// crates/sandvm/tests/wpt.rs (web-platform-tests data and the structured-clone battery) in
// this Node, one process per area, and prints one JSON line per area:
// {"area", "pass", "total"}. Used by scripts/compat-figures.sh.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const wpt = path.join(__dirname, '..', 'crates', 'sandvm', 'tests', 'wpt');
const read = (f) => fs.readFileSync(path.join(wpt, f), 'utf8');
const run = (script) => JSON.parse(execFileSync(process.execPath, ['-'], { input: script, maxBuffer: 64 << 20 }).toString());
const report = (area, [pass, total]) => console.log(JSON.stringify({ area, pass, total }));

const scored = (area, scorer, data) => {
  const pre = data ? `const DATA = ${read(data)};\n` : '';
  report(area, run(`${pre}const __r = (\n${read(`score/${scorer}.js`)}\n);\nconsole.log(JSON.stringify(__r));`));
};
const harness = (area, files, resources = []) => {
  let s = read('harness.js') + resources.map(read).join('\n');
  for (const f of files) s += `\n;(function () {\n${read(f)}\n})();\n`;
  report(area, run(`${s}\nconsole.log(JSON.stringify([__results.pass, __results.total]));`));
};

scored('URL parsing (urltestdata)', 'url_parsing', 'url/urltestdata.json');
scored('URL setters', 'url_setters', 'url/setters_tests.json');
harness('URLSearchParams', ['constructor', 'foreach', 'sort', 'stringifier'].map((f) => `url/urlsearchparams-${f}.any.js`));
harness('TextEncoder/TextDecoder',
  ['api-invalid-label', 'api-replacement-encodings', 'encodeInto', 'textdecoder-copy', 'textdecoder-eof', 'textdecoder-labels',
    'textdecoder-streaming', 'textencoder-constructor-non-utf'].map((f) => `encoding/${f}.any.js`),
  ['encoding/resources/encodings.js']);
scored('atob/btoa', 'base64', 'fetch/base64.json');
scored('structuredClone', 'structured_clone', null);
