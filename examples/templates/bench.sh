#!/bin/sh
# Renders/s of a ~2 KB template with 50 fields, warm: sandvm-template vs handlebars.js.
# Installs handlebars@4 with npm into a temporary directory (not into the repository).
set -eu
ITER="${1:-5000}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm init -y >/dev/null && npm install --silent handlebars@4 >/dev/null)
cargo run --quiet --manifest-path "$ROOT/Cargo.toml" -p sandvm-template --example template_bench -- "$ITER"
node "$ROOT/examples/templates/bench-handlebars.js" "$TMP/node_modules/handlebars" "$ITER"
