#!/usr/bin/env bash
# Runs every scenario here against the proxy-wasm-java-sdk example modules.
# usage: run.sh EX_DIR [BINARY]
#   EX_DIR  proxy-wasm-java-host/src/test of a roastedroot/proxy-wasm-java-sdk checkout (commit 59b7566)
#   BINARY  meshext-lint binary (default: meshext-lint on PATH); "cargo" = cargo run --release --quiet --
set -u
if [ $# -lt 1 ] || [ ! -d "$1" ]; then echo "usage: $0 EX_DIR [BINARY|cargo]" >&2; exit 2; fi
ex=$(cd "$1" && pwd)
bin=${2:-meshext-lint}
if [ "$bin" = cargo ]; then bin="cargo run --release --quiet --"
elif [[ "$bin" == */* ]]; then [[ "$bin" == /* ]] || bin=$PWD/$bin; bin=$(printf %q "$bin"); fi
cd "$(dirname "$0")" || exit 2
qex=$(printf %q "$ex")
failed=0
for f in *.yaml; do
  cmd=$(grep -m1 '^# Run: meshext-lint ' "$f" | sed 's/^# Run: meshext-lint //')
  if [ -z "$cmd" ]; then echo "FAIL $f (no '# Run:' line)"; failed=1; continue; fi
  cmd=${cmd//\$EX/$qex}
  if out=$(eval "$bin $cmd" 2>&1); then echo "PASS $f"
  else echo "FAIL $f"; failed=1; [ -n "${VERBOSE:-}" ] && printf '%s\n' "$out" | grep -E 'FAIL|error' | sed 's/^/    /'; fi
done
exit $failed
