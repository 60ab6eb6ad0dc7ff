#!/usr/bin/env bash
# Runs every cargo-fuzz target for a short, bounded time (default 20 s each) on the stable
# toolchain (RUSTC_BOOTSTRAP=1 unlocks the -Z flags libFuzzer needs). Exits non-zero when a
# target crashes (a panic, an abort, a leak of more than -rss_limit_mb, or one input running
# longer than 10 s); the crashing input is left in fuzz/artifacts/<target>/. test.sh runs it.
#
#   scripts/fuzz-smoke.sh                              # 20 s per target, every target
#   FUZZ_SECONDS=120 scripts/fuzz-smoke.sh eval_source # one target, longer
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`; .ci/run installs it). Build output goes
# to $FUZZ_TARGET_DIR, by default "$CARGO_TARGET_DIR-fuzz" (or fuzz/target without
# CARGO_TARGET_DIR): the fuzz crate is its own workspace, built with other flags.
# Prints one line per target: executions, coverage (libFuzzer's cov), corpus size.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$FUZZ_TARGET_DIR"
elif [ -n "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR%/}-fuzz"
else
  export CARGO_TARGET_DIR="$PWD/target"
fi
seconds="${FUZZ_SECONDS:-20}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2; exit 2; }
echo "fuzz: building ${#targets[@]} targets into $CARGO_TARGET_DIR"
cargo fuzz build -s none >/dev/null
status=0
for t in "${targets[@]}"; do
  # The working corpus (gitignored) starts from the committed seeds.
  mkdir -p "corpus/$t"
  cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  log="$(mktemp)"
  # -timeout: a single input running longer than 10 s is a finding (an uninterruptible builtin).
  # -rss_limit_mb: the sandbox caps the engine heap at 16 MiB; the process must stay small.
  if cargo fuzz run -s none "$t" "corpus/$t" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=8192 -print_final_stats=1 ${FUZZ_EXTRA:-} >"$log" 2>&1; then
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')
    corpus=$(find "corpus/$t" -type f | wc -l)
    echo "$t: ok, ${execs:-?} executions in ${seconds}s, cov ${cov:-?}, corpus $corpus"
  else
    echo "$t: FAILED (see fuzz/artifacts/$t/)"; tail -n 40 "$log"; status=1
  fi
  rm -f "$log"
done
exit $status
