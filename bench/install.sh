#!/usr/bin/env bash
# Installs node:vm's peers into bench/node_modules (gitignored): vm2 (pure JavaScript) and
# isolated-vm (a native addon built by node-gyp against the system Node's headers).
#
# isolated-vm is an optional dependency: when its addon cannot be built here, npm leaves it out
# and peers.js reports it as "n/a". isolated-vm 5.x is the last line that supports Node 18/20
# (6.x and later need Node >= 22/24).
set -euo pipefail
cd "$(dirname "$0")"

command -v node >/dev/null || { echo "install.sh: node is not installed" >&2; exit 2; }
command -v npm >/dev/null || { echo "install.sh: npm is not installed" >&2; exit 2; }

# node-gyp needs python3, make and a C++ compiler. Install them with apt when missing and root.
missing=()
for tool in python3 make g++; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install.sh: missing node-gyp prerequisites: ${missing[*]}" >&2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3 make g++
  else
    echo "install.sh: install them (apt-get install python3 make g++); isolated-vm will be skipped" >&2
  fi
fi

# Build against the headers of the Node that runs the benchmarks, not a download: a distro Node
# ships them under <prefix>/include/node (node-gyp's --nodedir wants <prefix>).
node_prefix=$(dirname "$(dirname "$(command -v node)")")
if [ -f "$node_prefix/include/node/node.h" ] && [ -z "${npm_config_nodedir:-}" ]; then
  export npm_config_nodedir="$node_prefix"
fi

npm install --no-audit --no-fund --loglevel=error

node -e '
for (const m of ["vm2", "isolated-vm"]) {
  try { require(m); console.log(`install.sh: ${m} ok`); }
  catch (e) { console.log(`install.sh: ${m} unavailable (${e.message.split("\n")[0]})`); }
}'
