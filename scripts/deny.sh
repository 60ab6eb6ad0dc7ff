#!/usr/bin/env bash
# Supply-chain checks that need no advisory database: licenses, banned/duplicate crates,
# sources. (`cargo metadata` may download crate sources for other platforms from crates.io.)
# Needs cargo-deny (`cargo install cargo-deny --locked`). Advisories need the network
# (`cargo deny check advisories`); pass --advisories to include them.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deny >/dev/null || { echo "cargo-deny is not installed: cargo install cargo-deny --locked" >&2; exit 2; }
checks=(licenses bans sources)
if [ "${1:-}" = "--advisories" ]; then checks+=(advisories); fi
exec cargo deny check "${checks[@]}"
