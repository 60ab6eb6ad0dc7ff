#!/usr/bin/env bash
# The whole test suite: formatting, lints, docs, unit/integration/doc tests, and every example.
# This is the command the README gives and the one CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "== dependency policy (licenses, sources; see deny.toml)"
node scripts/dependency-check.js

echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
grep -E "^test result:" "$log" | awk '{p+=$4; f+=$6} END {print "cargo test summary:", p, "passed,", f, "failed"}'

echo "== examples"
for dir in crates/*/examples; do
  [ -d "$dir" ] || continue
  crate=$(basename "$(dirname "$dir")")
  for ex in "$dir"/*.rs; do
    name=$(basename "$ex" .rs)
    case "$name" in *bench*) continue ;; esac   # benchmarks are run by hand, not by the suite
    echo "-- $crate: $name"
    cargo run -q -p "$crate" --example "$name" >/dev/null
  done
done
echo "-- sandvm run examples/hello.js"
out=$(cargo run -q -p sandvm-cli -- run examples/hello.js)
echo "$out"
grep -q "hello, world" <<<"$out"

echo "== browser test of the playground (headless Chromium)"
bash tests/browser/run.sh

echo "All checks passed."
