#!/usr/bin/env bash
# Copies the seed corpora from samples/ and tests/fixtures/ into fuzz/corpus/<target>/
# (not committed: they duplicate files of the repository). Run from anywhere.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/fuzz/corpus"

seed() { # target, files…
  local t="$1"; shift
  mkdir -p "$corpus/$t"
  for f in "$@"; do
    [ -f "$f" ] || continue
    # One file per distinct content, named by its hash as libFuzzer does.
    cp "$f" "$corpus/$t/$(sha1sum "$f" | cut -c1-40)"
  done
}

cd "$root"
shopt -s globstar nullglob
seed yaml_model samples/mesh/**/*.yaml samples/broken/*.yaml tests/fixtures/**/*.yaml \
  samples/broken/images/*/manifest.yaml
seed scenario samples/scenarios/*.yaml tests/fixtures/scenarios/*.yaml
seed scenario_differential samples/scenarios/*.yaml tests/fixtures/scenarios/*.yaml
seed yaml_differential samples/**/*.yaml tests/fixtures/**/*.yaml rules/catalogue/*.yaml
seed image_archive tests/fixtures/images/*.tar
# Layer blobs (and, as harmless extra seeds, the JSON blobs beside them).
seed image_layer samples/images/**/blobs/sha256/* tests/fixtures/images/**/blobs/sha256/*
seed abi_analysis samples/extensions/build/*.wasm samples/broken/images/*/*.wasm \
  tests/fixtures/images/*/*.wasm
seed module_startup samples/extensions/build/*.wasm samples/broken/images/*/*.wasm
seed module_compile samples/extensions/build/*.wasm samples/broken/images/*/*.wasm
# The WAT fixtures, compiled when a WAT compiler is at hand.
if command -v wat2wasm >/dev/null; then
  for w in tests/fixtures/wat/*.wat; do
    wat2wasm "$w" -o "$corpus/abi_analysis/$(basename "$w" .wat).wasm" 2>/dev/null || true
    cp "$corpus/abi_analysis/$(basename "$w" .wat).wasm" "$corpus/module_startup/" 2>/dev/null || true
  done
fi
for t in "$corpus"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
