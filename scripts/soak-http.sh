#!/usr/bin/env bash
# Hostile HTTP soak: starts `sandvm serve` on loopback (a free port), sends the mix of
# scripts/soak-http.js for SECONDS (default 600) from CONCURRENCY clients (default 8), then stops
# the server with SIGTERM and expects a clean drain (exit 0). Fails on any 5xx other than 503,
# any lost request, any answer that does not echo its request's nonce, or an unclean exit.
#
#   scripts/soak-http.sh [SECONDS] [CONCURRENCY]     # SANDVM=/path/to/sandvm to skip the build
#
# Builds the release binary into $CARGO_TARGET_DIR (default target/) unless SANDVM is set.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
concurrency=${2:-8}
if [ -z "${SANDVM:-}" ]; then
  cargo build -q --release -p sandvm-cli
  SANDVM=${CARGO_TARGET_DIR:-target}/release/sandvm
fi
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/sandvm.toml" <<'TOML'
listen = "127.0.0.1:0"
body_limit_bytes = 1048576

[pool]
workers = 2
queue_capacity = 256

[anonymous]
limits = { timeout_ms = 1000, memory_mb = 32 }
max_limits = { timeout_ms = 2000, memory_mb = 64 }
TOML
"$SANDVM" serve --config "$work/sandvm.toml" --data-dir "$work/data" --log warn >"$work/out" 2>"$work/err" &
server=$!
# The address in use is printed on standard output once the listener is bound.
addr=""
for _ in $(seq 1 100); do
  addr=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/out" | head -n 1 || true)
  [ -n "$addr" ] && break
  kill -0 "$server" 2>/dev/null || { echo "soak-http: the server exited early" >&2; cat "$work/err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "soak-http: no listen address printed" >&2; exit 1; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0; }
echo "soak-http: $(date -u +%FT%TZ) serving on $addr, ${seconds}s, $concurrency clients, server rss $(rss) KiB"
status=0
node scripts/soak-http.js "http://$addr" "$seconds" "$concurrency" || status=1
echo "soak-http: server rss after the mix $(rss) KiB"
kill -TERM "$server"
if wait "$server"; then
  echo "soak-http: server drained and exited 0"
else
  echo "soak-http: server exit status $? after SIGTERM" >&2; status=1
fi
server=""
if grep -qiE 'panic|abort' "$work/err"; then
  echo "soak-http: the server log mentions a panic or abort:" >&2; grep -iE 'panic|abort' "$work/err" | head -5 >&2; status=1
fi
exit $status
