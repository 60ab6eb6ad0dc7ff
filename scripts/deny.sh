#!/usr/bin/env bash
# Supply-chain policy with cargo-deny (deny.toml): licenses, banned/duplicate crates, sources.
# Offline: `--offline` keeps cargo metadata from the network. The advisories check needs the
# RustSec database from the network, which this machine and CI cannot reach: it is NOT checked
# here (pass --advisories where the network is available).
#
#   scripts/deny.sh                 # licenses bans sources (test.sh runs this)
#   scripts/deny.sh --advisories    # also advisories (needs the network)
#
# Needs cargo-deny (`cargo install cargo-deny --locked`; .ci/run installs it). Without it: a
# notice and exit 0 outside CI, a failure in CI (CI set).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo-deny >/dev/null; then
  if [ -n "${CI:-}" ]; then
    echo "cargo-deny is not installed (.ci/run installs it: cargo install cargo-deny --locked)" >&2
    exit 2
  fi
  echo "notice: cargo-deny is not installed (cargo install cargo-deny --locked): dependency policy not checked"
  exit 0
fi
if [ "${1:-}" = "--advisories" ]; then
  exec cargo deny check advisories licenses bans sources
fi
# cargo-deny reads `cargo metadata` for every platform, so crates of other targets (windows-sys...)
# must be in the local registry: fetch them (a no-op when present; needs the registry once).
cargo fetch --locked --quiet
echo "cargo deny: advisories are not checked: the RustSec database cannot be fetched offline (scripts/deny.sh --advisories where the network is available)"
exec cargo deny --offline check --hide-inclusion-graph licenses bans sources
