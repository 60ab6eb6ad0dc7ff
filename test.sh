#!/usr/bin/env bash
# The whole test suite: formatting, lints, docs, unit/integration/doc tests, and every example.
# This is the command the README gives and the one CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")"
# Each stage header shows the seconds since the start, so a slow stage is easy to find.
SECONDS=0

echo "== cargo fmt --check [${SECONDS} s]"
cargo fmt --all -- --check

echo "== cargo clippy [${SECONDS} s]"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo deny (licenses, bans, sources; see deny.toml) [${SECONDS} s]"
bash scripts/deny.sh

echo "== cargo doc [${SECONDS} s]"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

echo "== cargo test [${SECONDS} s]"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
grep -E "^test result:" "$log" | awk '{p+=$4; f+=$6} END {print "cargo test summary:", p, "passed,", f, "failed"}'

echo "== examples [${SECONDS} s]"
# Built once with the workspace's features (what `cargo test` compiled): `cargo run -p CRATE
# --example X` per crate would rebuild the core for each crate's own feature set (~10 min here).
cargo build -q --workspace --examples
examples_dir="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')/debug/examples"
for dir in crates/*/examples; do
  [ -d "$dir" ] || continue
  crate=$(basename "$(dirname "$dir")")
  for ex in "$dir"/*.rs; do
    name=$(basename "$ex" .rs)
    case "$name" in *bench* | *soak*) continue ;; esac   # benchmarks and soaks: run by hand or by scripts/
    echo "-- $crate: $name"
    "$examples_dir/$name" >/dev/null
  done
done
echo "-- sandvm run examples/hello.js"
out=$(cargo run -q -p sandvm-cli -- run examples/hello.js)
echo "$out"
grep -q "hello, world" <<<"$out"

echo "== Node.js package (bindings/node): build the addon, node --test, the README example, npm pack [${SECONDS} s]"
(
  cd bindings/node
  npm run --silent build:debug
  node --expose-gc --test test/
  # Captured, then matched: `| grep -q` would exit at the first match and SIGPIPE the writer.
  out=$(node examples/quickstart.js)
  echo "$out"
  grep -qx "17.5" <<<"$out"
  # The README blocks are this example, verbatim (less its first comment line).
  node -e "const fs = require('fs'); const ex = fs.readFileSync('examples/quickstart.js', 'utf8').replace(/^\/\/.*\n/, '');
    for (const f of ['../../README.md', 'README.md']) if (!fs.readFileSync(f, 'utf8').includes(ex)) { console.error(f + ': the example block differs from examples/quickstart.js'); process.exit(1); }"
  # The packed tarball installs offline and works without the source tree.
  pack_dir=$(mktemp -d)
  trap 'rm -rf "$pack_dir"' EXIT
  npm pack --silent --pack-destination "$pack_dir" >/dev/null
  (cd "$pack_dir" && npm init -y >/dev/null && npm install --offline --no-audit --no-fund --silent ./sandvm-*.tgz \
    && node -e "const { Sandbox } = require('sandvm'); if (new Sandbox().runSync('6 * 7') !== 42) process.exit(1); console.log('npm pack: installed tarball works')")
)

echo "== Python package (bindings/python): build, pytest, examples [${SECONDS} s]"
# The venv .ci/run makes (python3 -m venv target/py-venv; pip install maturin pytest hypothesis).
if [ -x target/py-venv/bin/python ] && target/py-venv/bin/python -c "import maturin, pytest, hypothesis" 2>/dev/null; then
  py=$PWD/target/py-venv/bin/python
  # maturin's build backend runs the `maturin` command by name: the venv's bin goes on PATH.
  # Built with the dev profile (dependencies at opt-level 2, see Cargo.toml): the tests need a
  # correct package, not a fast one, and the debug build reuses what `cargo test` compiled.
  # `pip install ./bindings/python` without this variable builds the release wheel users get.
  MATURIN_PEP517_ARGS="--profile dev" PATH="$PWD/target/py-venv/bin:$PATH" "$py" -m pip install -q --disable-pip-version-check --no-build-isolation ./bindings/python
  (cd bindings/python && "$py" -m pytest -q -p no:cacheprovider tests)
  for ex in bindings/python/examples/*.py; do
    echo "-- $ex"
    "$py" "$ex" >/dev/null
  done
elif [ -n "${CI:-}" ]; then
  echo "the Python venv is missing (.ci/run makes target/py-venv)" >&2; exit 1
else
  echo "notice: no target/py-venv with maturin, pytest and hypothesis (see .ci/run): Python package not tested"
fi

echo "== mixed soak, scaled down (scripts/soak.sh runs 1,000,000) [${SECONDS} s]"
"$examples_dir/mixed_soak" 20000 32 | tail -n 1

echo "== fuzzing, ${FUZZ_SECONDS:-20} s per target (scripts/fuzz-long.sh for longer runs) [${SECONDS} s]"
if command -v cargo-fuzz >/dev/null; then
  FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash scripts/fuzz-smoke.sh
elif [ -n "${CI:-}" ]; then
  echo "cargo-fuzz is not installed (.ci/run installs it)" >&2; exit 1
else
  echo "notice: cargo-fuzz is not installed (cargo install cargo-fuzz --locked): fuzzing skipped"
fi

echo "== browser test of the playground (headless Chromium) [${SECONDS} s]"
bash tests/browser/run.sh

echo "All checks passed in ${SECONDS} s."
