#!/usr/bin/env bash
# Runs the core library's tests under LeakSanitizer on the stable toolchain
# (RUSTC_BOOTSTRAP=1 unlocks -Zsanitizer; the LSan runtime ships with rustc's std for
# x86_64-unknown-linux-gnu). Any leak, in Rust or in the engine's C code (QuickJS allocates
# through sandvm's counting allocator, i.e. malloc), fails the run.
#
#   scripts/lsan.sh                 # sandvm's integration tests
#   scripts/lsan.sh --test script   # one test binary
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="${RUSTFLAGS:-} -Zsanitizer=leak"
export RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -Zsanitizer=leak"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-lsan}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-report_objects=1}"
# --target keeps the sanitizer flags off build scripts and proc macros.
target="$(rustc -vV | sed -n 's/^host: //p')"
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  args=(--tests)
fi
exec cargo test -p sandvm --target "$target" "${args[@]}"
