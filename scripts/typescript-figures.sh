#!/usr/bin/env bash
# The TypeScript figures of the README (issue #21), from one run on this machine:
#  - transform time of a 1 KB and a 50 KB file (median, release build, the ts_bench example);
#  - growth of the release binary: the CLI built with and without the `typescript` feature;
#  - `sandvm run app.ts` vs the same program as `app.js`: process wall time (hyperfine when
#    installed, else the median of 30 runs timed here).
# Usage: scripts/typescript-figures.sh   (prints a Markdown table; slow: two release builds)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
echo "date: $(date -u +%Y-%m-%d)"
cargo run --quiet --release -p sandvm-typescript --example ts_bench
cargo build --quiet --release -p sandvm-cli --no-default-features
cp "$target/release/sandvm" /tmp/sandvm-no-ts
cargo build --quiet --release -p sandvm-cli
bin="$target/release/sandvm"
without=$(stat -c %s /tmp/sandvm-no-ts)
with=$(stat -c %s "$bin")
echo "binary_without_ts_bytes=$without binary_with_ts_bytes=$with growth_bytes=$((with - without))"
dir=$(mktemp -d)
trap 'rm -rf "$dir" /tmp/sandvm-no-ts' EXIT
cat examples/typescript/app.ts > "$dir/app.ts"
"$bin" run "$dir/app.ts" > /dev/null
# The JavaScript twin: the same program with its types stripped.
node -e '
const ts = require("./tests/typescript/node_modules/typescript");
const fs = require("fs");
const src = fs.readFileSync(process.argv[1], "utf8");
fs.writeFileSync(process.argv[2], ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText);
' "$dir/app.ts" "$dir/app.js"
if command -v hyperfine > /dev/null; then
  hyperfine --warmup 3 -N "$bin run $dir/app.js" "$bin run $dir/app.ts"
else
  python3 - "$bin" "$dir" <<'PY'
import subprocess, sys, time, statistics
b, d = sys.argv[1], sys.argv[2]
def t(f):
    xs = []
    for _ in range(30):
        s = time.perf_counter(); subprocess.run([b, "run", f], stdout=subprocess.DEVNULL, check=True); xs.append(time.perf_counter() - s)
    return statistics.median(xs) * 1000
js, tsm = t(d + "/app.js"), t(d + "/app.ts")
print(f"run_js_ms={js:.2f} run_ts_ms={tsm:.2f} ratio={tsm/js:.2f}")
PY
fi
