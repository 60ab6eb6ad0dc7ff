#!/usr/bin/env bash
# Runs every cargo-fuzz target for a short, bounded time (default 30 s each) on the stable
# toolchain (RUSTC_BOOTSTRAP=1 unlocks the -Z flags libFuzzer needs). Exits non-zero when a
# target crashes; the crashing input is left in fuzz/artifacts/<target>/.
#
#   scripts/fuzz-smoke.sh            # 30 s per target
#   FUZZ_SECONDS=120 scripts/fuzz-smoke.sh eval_source
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Build output goes to $CARGO_TARGET_DIR
# (default /tmp/target-fuzz) so that the repository stays clean.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-fuzz}"
seconds="${FUZZ_SECONDS:-30}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(eval_source convert_values cached_data template_parser)
fi
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2; exit 2; }
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
      -max_len=4096 -print_final_stats=1 >"$log" 2>&1; then
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "$t: ok, ${execs:-?} executions in ${seconds}s"
  else
    echo "$t: FAILED (see fuzz/artifacts/$t/)"; tail -40 "$log"; status=1
  fi
  rm -f "$log"
done
exit $status
