#!/usr/bin/env bash
# Runs both sides of the benchmarks in one go and writes bench/results.md and docs/bench.svg:
#   1. builds sandvm in release and runs `sandvm bench --json` (memory_per_context again in a
#      fresh process, so memory freed by earlier workloads cannot hide its cost);
#   2. runs the same workloads for node:vm, vm2 and isolated-vm (`node bench/peers.js`; run
#      bench/install.sh first for vm2 and isolated-vm — missing ones are reported as n/a);
#   3. writes the markdown table of ns/op and ratios, and the SVG chart.
#
#   bench/run.sh [--budget-ms N]        (CARGO_TARGET_DIR is honoured)
set -euo pipefail
cd "$(dirname "$0")/.."
budget=600
if [ "${1:-}" = "--budget-ms" ]; then budget=$2; fi

target=${CARGO_TARGET_DIR:-target}
echo "== cargo build --release -p sandvm-cli" >&2
cargo build --release -q -p sandvm-cli
sandvm=$target/release/sandvm
out=bench/out
mkdir -p "$out"

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(load)

echo "== sandvm bench" >&2
"$sandvm" bench --json --budget-ms "$budget" >"$out/sandvm.json"
"$sandvm" bench --json --filter memory_per_context >"$out/sandvm-memory.json"

echo "== node bench/peers.js" >&2
[ -d bench/node_modules ] || echo "bench/node_modules is missing: run bench/install.sh (vm2 and isolated-vm will be n/a)" >&2
node --expose-gc bench/peers.js --json --budget-ms "$budget" >"$out/peers.json"
load_after=$(load)

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
node -e '
const [cpu, cpus, before, after, rustc] = process.argv.slice(1);
const v = (m) => { try { return require(require.resolve(m + "/package.json", { paths: ["bench/node_modules"] })).version } catch { return "n/a" } };
console.log(JSON.stringify({
  machine: `${cpu}, ${cpus} CPUs, Linux`,
  versions: `${rustc}; node ${process.versions.node} (V8 ${process.versions.v8}); vm2 ${v("vm2")}; isolated-vm ${v("isolated-vm")}.`,
  cpus, load_before: before, load_after: after,
}))' "$cpu" "$(nproc)" "$load_before" "$load_after" "$(rustc --version | cut -d' ' -f1-2)" >"$out/meta.json"

node bench/report.js --sandvm "$out/sandvm.json" --sandvm-memory "$out/sandvm-memory.json" \
  --peers "$out/peers.json" --meta "$out/meta.json" --md bench/results.md --svg docs/bench.svg
echo "== wrote bench/results.md and docs/bench.svg" >&2
