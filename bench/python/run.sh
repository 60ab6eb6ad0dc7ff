#!/usr/bin/env bash
# One command: a venv with sandvm (built from this checkout), mini-racer 0.14 and dukpy 0.6
# from PyPI, then the benchmark; writes bench/python/results.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/py-bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check maturin "mini-racer==0.14.*" "dukpy==0.6.*"
"$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation ./bindings/python
cargo build -q --release -p sandvm-python --example rust_roundtrip_bench
rust=${CARGO_TARGET_DIR:-target}/release/examples/rust_roundtrip_bench
"$venv/bin/python" bench/python/bench.py --rust "$rust" | tee bench/python/results.md
