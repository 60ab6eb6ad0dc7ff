#!/usr/bin/env bash
# Mixed soak: RUNS runs (default 1,000,000) of good code, timeouts, out-of-memory, stack
# overflows, host calls and module imports in one process (the `mixed_soak` example of
# crates/sandvm, release build), printing RSS every 5% and failing when a run ends otherwise
# than expected or RSS grew more than MAX_GROWTH_MIB (default 64) after the warm-up.
#
#   scripts/soak.sh [RUNS] [MAX_GROWTH_MIB]
#
# test.sh runs a scaled-down version (20,000 runs, debug build, ~35 s); this one takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
growth=${2:-64}
echo "soak: $(date -u +%FT%TZ) $runs runs, RSS growth bound ${growth} MiB"
exec cargo run -q --release -p sandvm --example mixed_soak -- "$runs" "$growth"
