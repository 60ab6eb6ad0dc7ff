#!/usr/bin/env bash
# Browser test of the playground: installs Chromium (Debian) and playwright-core (npm) if
# missing, builds sandvm, starts `sandvm serve` on a free loopback port, runs playground.mjs,
# stops the server. The screenshot goes to target/playground.png.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  echo "== installing nodejs"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "== npm install (playwright-core)"
  (cd "$here" && npm install --no-audit --no-fund --silent)
fi

echo "== building sandvm"
cargo build -q -p sandvm-cli
target_dir="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
bin="$target_dir/debug/sandvm"
mkdir -p "$root/target"

out="$(mktemp)"
"$bin" serve --listen 127.0.0.1:0 --ephemeral --log warn >"$out" &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$out"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$out" && break
  sleep 0.1
done
url="$(sed -n 's/^sandvm: listening on \(http:[^ ]*\)$/\1/p' "$out" | head -1)"
[ -n "$url" ] || { echo "the server did not start"; exit 1; }
echo "== playground at $url"
(cd "$here" && SANDVM_URL="$url/" node playground.mjs "$root/target/playground.png")
