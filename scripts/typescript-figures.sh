#!/usr/bin/env bash
# The TypeScript figures of the README (issue #21), from one run on this machine:
#  - bench: transform time of a 1 KB and a 50 KB file (median, release build, the ts_bench example);
#  - size:  growth of the release binary: the CLI built with and without the `typescript` feature
#           (two release builds of sandvm-cli; target: growth <= 4 MiB);
#  - run:   `sandvm run app.ts` vs the same program as `app.js` (typescript's transpileModule of
#           it): process wall time, hyperfine when installed, else the median of 50 runs of each,
#           interleaved (target: ratio <= 1.3).
# Usage: scripts/typescript-figures.sh [bench] [size] [run]   (no argument: all three; slow)
# `run` needs `npm install` in tests/typescript and reuses the release binary of `size` when it
# is there (set SANDVM_BIN to use another one).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(bench size run)
want() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "date: $(date -u +%Y-%m-%d)  machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

if want bench; then
  cargo run --quiet --release -p sandvm-typescript --example ts_bench
fi

if want size; then
  cargo build --quiet --release -p sandvm-cli --no-default-features
  cp "$target/release/sandvm" "$work/sandvm-no-ts"
  cargo build --quiet --release -p sandvm-cli
  without=$(stat -c %s "$work/sandvm-no-ts")
  with=$(stat -c %s "$target/release/sandvm")
  growth=$((with - without))
  awk -v w="$without" -v t="$with" -v g="$growth" 'BEGIN {
    printf "binary_without_ts_bytes=%d binary_with_ts_bytes=%d growth_bytes=%d (%.2f MiB; target <= 4 MiB: %s)\n",
      w, t, g, g / 1048576, (g <= 4 * 1048576 ? "met" : "MISSED") }'
fi

if want run; then
  bin=${SANDVM_BIN:-$target/release/sandvm}
  [ -x "$bin" ] || { echo "no release binary at $bin (run the size part first, or set SANDVM_BIN)" >&2; exit 1; }
  [ -f tests/typescript/node_modules/typescript/package.json ] ||
    { echo "run: needs npm typescript (npm install in tests/typescript)" >&2; exit 1; }
  cp examples/typescript/app.ts "$work/app.ts"
  # The JavaScript twin: the same program with its types stripped by typescript itself.
  node -e '
const ts = require("./tests/typescript/node_modules/typescript");
const fs = require("fs");
const src = fs.readFileSync(process.argv[1], "utf8");
fs.writeFileSync(process.argv[2], ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText);
' "$work/app.ts" "$work/app.js"
  # Both must print the same thing.
  diff <("$bin" run "$work/app.ts") <("$bin" run "$work/app.js") > /dev/null ||
    { echo "app.ts and app.js print different output" >&2; exit 1; }
  echo "app.ts: $(stat -c %s "$work/app.ts") bytes, app.js: $(stat -c %s "$work/app.js") bytes"
  if command -v hyperfine > /dev/null; then
    hyperfine --warmup 3 -N "$bin run $work/app.js" "$bin run $work/app.ts"
  else
    python3 - "$bin" "$work" <<'PY'
import subprocess, sys, time, statistics
b, d = sys.argv[1], sys.argv[2]
def once(f):
    s = time.perf_counter()
    subprocess.run([b, "run", f], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - s
for f in ("app.js", "app.ts"):  # warm-up
    for _ in range(3):
        once(f"{d}/{f}")
js, ts = [], []
for _ in range(50):  # interleaved, so that load from elsewhere hits both alike
    js.append(once(f"{d}/app.js"))
    ts.append(once(f"{d}/app.ts"))
mj, mt = statistics.median(js) * 1000, statistics.median(ts) * 1000
r = mt / mj
print(f"run_js_ms={mj:.2f} run_ts_ms={mt:.2f} ratio={r:.2f} (median of 50 each; target <= 1.3: {'met' if r <= 1.3 else 'MISSED'})")
PY
  fi
fi
