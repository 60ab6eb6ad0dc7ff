#!/usr/bin/env bash
# The compatibility figures of the README (issue #20), from one run on this machine: each row
# scored on the same data by the same scorer in sandvm (`cargo test -p sandvm --test wpt
# --test inspect_parity`) and in Node (scripts/compat-figures.js, the `node` on PATH).
# The console/inspect row compares console.log output with what Node's util.format printed
# (crates/sandvm/tests/inspect_parity/expected.json): Node is the reference there.
# Usage: scripts/compat-figures.sh   (prints a Markdown table)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cargo test --quiet -p sandvm --test wpt --test inspect_parity -- --nocapture --test-threads=1 > "$out" 2>&1 || {
  cat "$out" >&2
  exit 1
}
node_version=$(node --version)
echo "date: $(date -u +%Y-%m-%d), Node $node_version"
node scripts/compat-figures.js | node -e '
const fs = require("fs");
const ours = fs.readFileSync(process.argv[1], "utf8");
const pct = (p, t) => (100 * p / t).toFixed(1) + "%";
const node = fs.readFileSync(0, "utf8").trim().split("\n").map((l) => JSON.parse(l));
console.log(`| area | sandvm | Node ${process.argv[2]} |`);
console.log("|---|---|---|");
for (const n of node) {
  const m = ours.match(new RegExp("wpt " + n.area.replace(/[()/]/g, "\\$&") + ": (\\d+)/(\\d+)"));
  const s = m ? `${pct(+m[1], +m[2])} (${m[1]}/${m[2]})` : "not run";
  console.log(`| ${n.area} | ${s} | ${pct(n.pass, n.total)} (${n.pass}/${n.total}) |`);
}
const c = ours.match(/console\/inspect parity with Node "[^"]*": (\d+)\/(\d+)/);
if (c) console.log(`| console/inspect identical to Node (util.format) | ${pct(+c[1], +c[2])} (${c[1]}/${c[2]}) | reference |`);
' "$out" "$node_version"
