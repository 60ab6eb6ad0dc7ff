// The reference side of the TypeScript corpus test: each file is transpiled with typescript's
// transpileModule and run in a fresh node:vm context; prints one JSON line per file:
// {"file", "console": [text...], "value": <completion value as JSON, or null>, "error": <message or null>}
'use strict';
const fs = require('fs');
const path = require('path');
const util = require('util');
const vm = require('vm');
const ts = require(path.join(__dirname, 'node_modules', 'typescript'));

const dir = process.argv[2];
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();

function jsonOf(v) {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? null : JSON.parse(s);
  } catch {
    return null;
  }
}

(async () => {
  for (const file of files) {
    const src = fs.readFileSync(path.join(dir, file), 'utf8');
    const js = ts.transpileModule(src, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, useDefineForClassFields: true },
      fileName: file,
    }).outputText;
    const lines = [];
    const log = (...args) => lines.push(util.format(...args));
    const sandbox = { console: { log, info: log, warn: log, error: log, debug: log } };
    let value = null;
    let error = null;
    try {
      let v = vm.runInNewContext(js, sandbox, { filename: file });
      if (v && typeof v.then === 'function') v = await v;
      value = jsonOf(v);
    } catch (e) {
      error = String(e && e.message);
    }
    process.stdout.write(JSON.stringify({ file, console: lines, value, error }) + '\n');
  }
})();
