#!/usr/bin/env bash
# Longer fuzzing runs than test.sh's smoke stage: every target (or the ones named) for
# FUZZ_SECONDS each (default 600), with the jobs spread over FUZZ_JOBS processes (default 1),
# keeping the grown corpus in fuzz/corpus/<target>/ (gitignored) across runs. Stops at the
# first crash of a target and moves on; exits non-zero if any target crashed. Findings are
# left in fuzz/artifacts/<target>/ (see fuzz/README.md for turning one into a test).
#
#   scripts/fuzz-long.sh                          # 10 min per target
#   FUZZ_SECONDS=3600 FUZZ_JOBS=2 scripts/fuzz-long.sh http_request module_specifier
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds="${FUZZ_SECONDS:-600}"
jobs="${FUZZ_JOBS:-1}"
if [ "$jobs" -gt 1 ]; then
  # libFuzzer's -fork mode runs jobs in child processes; fuzz-smoke.sh passes extra flags through.
  export FUZZ_EXTRA="-fork=$jobs -ignore_crashes=0"
fi
echo "fuzz-long: $(date -u +%FT%TZ), ${seconds}s per target, $jobs job(s)"
FUZZ_SECONDS="$seconds" exec bash "$here/fuzz-smoke.sh" "$@"
