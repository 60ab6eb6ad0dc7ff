#!/usr/bin/env bash
# The cost of the NATS JetStream queue on loopback (figures: bench/queue-results.md): jobs/s
# and p50/p99 latency of POST /v1/execute through the in-process pool, then through one API node (--workers 0) and
# 1, 2 and 3 worker processes. Needs nats-server (apt-get install nats-server) and python3.
#
#   bench/queue.sh [JOBS] [CLIENTS]        (default 2000 jobs, 8 clients; SANDVM=path picks the
#                                           binary, else a release build; CARGO_TARGET_DIR honoured)
#
# Each worker process runs --workers 1 (one job at a time), so "N workers" is N execution slots;
# the in-process baseline uses --workers 1 too. The job is tiny ("6 * 7"): the figures are the
# queue's overhead, not the engine's speed.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-2000}
clients=${2:-8}
command -v nats-server >/dev/null || { echo "queue.sh: nats-server is not installed" >&2; exit 2; }
if [ -z "${SANDVM:-}" ]; then
  echo "== cargo build --release -p sandvm-cli" >&2
  cargo build --release -q -p sandvm-cli
  SANDVM=${CARGO_TARGET_DIR:-target}/release/sandvm
fi
dir=$(mktemp -d)
pids=()
cleanup() { stop_all; kill "${nats:-}" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Starts a sandvm role in the background and waits for its first standard output line; sets
# $addr to the listening address (for `serve`).
start() {
  local out=$dir/out.$RANDOM
  mkfifo "$out"
  "$SANDVM" "$@" --log warn >"$out" 2>>"$dir/log" &
  pids+=($!)
  local line
  read -r line <"$out"
  cat "$out" >/dev/null &   # keep the pipe drained
  addr=${line#sandvm: listening on http://}
}
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
load() { python3 bench/queue_load.py "$1" "$jobs" "$clients" "6 * 7"; }

port=$(free_port)
nats-server -js -a 127.0.0.1 -p "$port" -sd "$dir/js" >/dev/null 2>&1 &
nats=$!
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do :; done
url=nats://127.0.0.1:$port

echo "| setup | jobs/s | p50 ms | p99 ms | errors |"
echo "| --- | --- | --- | --- | --- |"
row() { python3 -c "import json,sys; r=json.loads(sys.argv[2]); print(f\"| {sys.argv[1]} | {r['jobs_per_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} |\")" "$1" "$2"; }

start serve --listen 127.0.0.1:0 --workers 1
serve_addr=$addr
load "$serve_addr" >/dev/null   # warm-up
row "in-process pool, 1 worker" "$(load "$serve_addr")"
stop_all

for n in 1 2 3; do
  start serve --listen 127.0.0.1:0 --queue "$url" --workers 0
  serve_addr=$addr
  for _ in $(seq "$n"); do start worker --queue "$url" --workers 1; done
  load "$serve_addr" >/dev/null
  row "NATS queue, 1 API node + $n worker process(es) x 1" "$(load "$serve_addr")"
  stop_all
done
echo
echo "machine: $(nproc) cores; load average before/after: see /proc/loadavg ($(cut -d' ' -f1-3 /proc/loadavg))"
