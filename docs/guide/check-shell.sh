#!/usr/bin/env bash
# Runs every shell transcript of docs/guide/*.md against the built `sandvm` binary, and checks
# the deployment blocks, so the guide cannot rot.
#
#   docs/guide/check-shell.sh [PAGE.md ...]      # SANDVM=/path/to/sandvm to pick the binary
#
# - ```sh blocks are transcripts: a line `$ COMMAND` is run with bash (in a scratch directory
#   shared by the page's blocks, with `sandvm` on PATH) and the lines after it, up to the next
#   `$ ` line, must equal its standard output. `...` inside an expected line matches any text.
# - ```sh,ignore-shell blocks are not run; their first line must be `# not run: REASON`.
# - ```ini blocks (systemd units): `systemd-analyze verify` when it is installed, and the
#   ExecStart command is run with the built binary on a small job read from standard input.
# - ```dockerfile blocks: the ENTRYPOINT + CMD command is run the same way (building the image
#   needs a container engine, which CI does not have).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ -z "${SANDVM:-}" ]; then
  target=${CARGO_TARGET_DIR:-$root/target}
  (cd "$root" && cargo build -q -p sandvm-cli)
  SANDVM=$target/debug/sandvm
fi
[ -x "$SANDVM" ] || { echo "check-shell: no sandvm binary at $SANDVM" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/bin"
ln -s "$(cd "$(dirname "$SANDVM")" && pwd)/$(basename "$SANDVM")" "$scratch/bin/sandvm"
export PATH="$scratch/bin:$PATH"

pages=("$@")
[ "${#pages[@]}" -gt 0 ] || pages=("$here"/*.md)

ran=0 skipped=0 failed=0

fail() {
  echo "FAIL $1" >&2
  failed=$((failed + 1))
}

# Does "$1" (actual line) match "$2" (expected line, where `...` matches anything)?
line_matches() {
  local actual=$1 expected=$2
  if [[ $expected != *...* ]]; then
    [[ $actual == "$expected" ]]
    return
  fi
  local pattern="" rest=$expected
  while [[ $rest == *...* ]]; do
    pattern+=$(printf '%q' "${rest%%...*}")'*'
    rest=${rest#*...}
  done
  pattern+=$(printf '%q' "$rest")
  eval "[[ \$actual == $pattern ]]"
}

# Runs one command and compares its stdout with the expected lines.
check_command() {
  local where=$1 cmd=$2 expected=$3 dir=$4 actual
  ran=$((ran + 1))
  actual=$(cd "$dir" && timeout 60 bash -c "$cmd" 2>"$scratch/stderr") || true
  local -a want got
  mapfile -t want <<<"$expected"
  mapfile -t got <<<"$actual"
  [ -n "$expected" ] || want=()
  [ -n "$actual" ] || got=()
  local ok=1 i
  if [ "${#want[@]}" -ne "${#got[@]}" ]; then ok=0; fi
  for ((i = 0; ok && i < ${#want[@]}; i++)); do
    line_matches "${got[$i]}" "${want[$i]}" || ok=0
  done
  if [ "$ok" = 1 ]; then
    echo "ok   $where: $cmd"
  else
    fail "$where: $cmd"$'\n'"--- expected"$'\n'"$expected"$'\n'"--- got"$'\n'"$actual"$'\n'"--- stderr"$'\n'"$(cat "$scratch/stderr")"
  fi
}

# Runs a transcript block.
run_transcript() {
  local where=$1 block=$2 dir=$3 cmd="" expected="" have=0 line
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line == '$ '* ]]; then
      [ "$have" = 0 ] || check_command "$where" "$cmd" "$expected" "$dir"
      cmd=${line#\$ } expected="" have=1
    elif [ "$have" = 1 ]; then
      expected+=${expected:+$'\n'}$line
    elif [ -n "$line" ]; then
      fail "$where: a transcript must start with a \`\$ \` command line, got: $line"
      return
    fi
  done <<<"$block"
  [ "$have" = 0 ] || check_command "$where" "$cmd" "$expected" "$dir"
}

JOB='console.log("job", 6 * 7); [1, 2].map(x => x * 2)'

# Runs a deployment command (argv words) on a small job from stdin; it must print a JSON report.
run_deploy_command() {
  local where=$1 cmd=$2 out
  ran=$((ran + 1))
  cmd=${cmd//\/usr\/local\/bin\/sandvm/sandvm}
  if out=$(cd "$scratch" && timeout 60 bash -c "$cmd" <<<"$JOB" 2>"$scratch/stderr") &&
    [[ $out == '{"status":"ok","value":[2,4]'* ]]; then
    echo "ok   $where: $cmd"
  else
    fail "$where: $cmd"$'\n'"$out"$'\n'"$(cat "$scratch/stderr")"
  fi
}

check_unit() {
  local where=$1 block=$2 exec
  printf '%s\n' "$block" >"$scratch/guide-check.service"
  if command -v systemd-analyze >/dev/null && [ -d /run/systemd/system ]; then
    ran=$((ran + 1))
    if systemd-analyze verify "$scratch/guide-check.service" 2>"$scratch/stderr"; then
      echo "ok   $where: systemd-analyze verify"
    else
      fail "$where: systemd-analyze verify"$'\n'"$(cat "$scratch/stderr")"
    fi
  fi
  exec=$(sed -n 's/^ExecStart=//p' <<<"$block")
  if [ -n "$exec" ]; then
    run_deploy_command "$where" "$exec"
  elif ! grep -q '^\[Socket\]' <<<"$block"; then
    fail "$where: a unit block needs an ExecStart (or a [Socket] section)"
  fi
}

check_dockerfile() {
  local where=$1 block=$2 entry cmd
  entry=$(sed -n 's/^ENTRYPOINT //p' <<<"$block")
  cmd=$(sed -n 's/^CMD //p' <<<"$block")
  [ -n "$entry" ] || { fail "$where: no ENTRYPOINT"; return; }
  # Exec-form JSON arrays: join them into one shell command line.
  local words
  words=$(node -e 'const a = [...JSON.parse(process.argv[1]), ...JSON.parse(process.argv[2] || "[]")];
    console.log(a.map(w => /^[\w.\/-]+$/.test(w) ? w : `'"'"'${w}'"'"'`).join(" "))' "$entry" "$cmd")
  run_deploy_command "$where" "$words"
}

for page in "${pages[@]}"; do
  name=$(basename "$page")
  dir="$scratch/${name%.md}"
  mkdir -p "$dir"
  # Emit blocks as: a header line "@@ LINE INFO", then the block's lines, then "@@end".
  while IFS= read -r -d $'\x1e' record; do
    header=${record%%$'\n'*}
    body=${record#*$'\n'}
    body=${body%$'\n'}
    lineno=$(cut -d' ' -f2 <<<"$header")
    info=$(cut -d' ' -f3- <<<"$header")
    where="docs/guide/$name:$lineno"
    lang=${info%%[, ]*}
    case "$lang" in
      sh | shell | bash)
        if [[ $info == *ignore-shell* ]]; then
          if [[ $body == '# not run: '?* ]]; then
            skipped=$((skipped + 1))
          else
            fail "$where: an ignore-shell block needs a '# not run: REASON' first line"
          fi
        else
          run_transcript "$where" "$body" "$dir"
        fi
        ;;
      ini) check_unit "$where" "$body" ;;
      dockerfile) check_dockerfile "$where" "$body" ;;
    esac
  done < <(awk '
    /^```/ && !inblock { inblock = 1; info = substr($0, 4); printf "@@ %d %s\n", NR, info; next }
    /^```[ \t]*$/ && inblock { inblock = 0; printf "\x1e"; next }
    inblock { print }
  ' "$page")
done

echo "check-shell: $ran run, $skipped skipped, $failed failed"
[ "$failed" = 0 ]
