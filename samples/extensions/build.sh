#!/usr/bin/env bash
# Rebuild every sample proxy-wasm module and the OCI images that carry them.
#
#   samples/extensions/build.sh [--no-install] [modules|images|fixtures|meshes|all]   (default: all)
#
# What it does (idempotent; every output is recreated from scratch):
#   1. install   apt: rustc cargo libstd-rust-dev-wasm32 lld (Debian rustc 1.63 + wasm32 std),
#                clang wasi-libc libclang-rt-dev-wasm32 (C filter), umoci skopeo, wabt (wasm-objdump, optional);
#                npm: packages of assemblyscript/package-lock.json (`npm ci`).
#                Skipped with --no-install or NO_INSTALL=1.
#   2. modules   rust/: resolve is already done (Cargo.lock is committed); `cargo vendor`
#                with the *new* cargo (rustup, first in PATH) fills rust/vendor/, then Debian's
#                /usr/bin/cargo + /usr/bin/rustc build offline:
#                  wasm32-unknown-unknown: header-append oob-auth counter body-rewrite config-panic
#                  wasm32-wasi:            wasi-logger
#                assemblyscript/: `npx asc ... --use abort=abort_proc_exit --optimize` -> as-add-header
#                c/: clang --target=wasm32-wasi -> c-add-header
#                Results go to build/<name>.wasm, are checked (magic + ABI marker) with wasm-info.py
#                and exercised by smoke-test.mjs (a tiny proxy-wasm host stub on Node's WebAssembly).
#   3. images    one OCI image layout in samples/images/, refs quay.io/meshext-samples/<name>:1.0.
#                Each image is FROM-scratch style: one layer holding /manifest.yaml and /<name>.wasm
#                (the OSSM ServiceMeshExtension format), built with umoci in a temporary layout and
#                copied with `skopeo copy oci:... oci:samples/images:<full ref>`.
#                Plus quay.io/meshext-samples/header-append-wasmplugin:1.0: one layer with /plugin.wasm
#                (Istio WasmPlugin "compat" format, no manifest.yaml); for as-add-header and
#                c-add-header: <name>-wasmplugin:1.0 (compat, umoci) and <name>-wasmplugin-artifact:1.0
#                (2-layer OCI artifact, `meshext-lint pack --format wasmplugin --variant artifact`);
#                c-add-header-wasmplugin-layered:1.0: a base layer + /plugin.wasm (2 layers: read by
#                Istio >= 1.16 / OSSM >= 2.3 only).
#                Timestamps are pinned (SOURCE_DATE_EPOCH, default 2021-06-01) so digests are stable
#                as long as the module bytes are.
#   4. fixtures  tests/fixtures/images/: header-append.oci.tar (oci-archive),
#                header-append.docker.tar (docker-archive, RepoTags quay.io/meshext-samples/header-append:1.0),
#                header-append-rootfs/ (unpacked layer: manifest.yaml + header-append.wasm).
#   5. meshes    samples/mesh-v2.6/ and samples/mesh-v3.0/: samples/mesh after its upgrade, made by
#                `meshext-lint migrate --in-place` (ServiceMeshExtensions -> WasmPlugins, images
#                repackaged into samples/images: quay.io/meshext-samples/migrated/<name>:1.0 in the
#                compat format for 2.6, .../migrated-artifact/<name>:1.0 as OCI artifacts for 3.0);
#                then upgrade-meshes.py swaps the control plane (SMCP v2.6; for 3.0 a Sail `Istio`
#                v1.24.3 and injection labels on the namespaces).
#
# Rust dependency versions: rust/.cargo/config.toml sets `incompatible-rust-versions = "fallback"`
# and every crate has rust-version = "1.63"; to re-resolve run `cargo update` in rust/ with the
# rustup cargo (>= 1.84). rust/vendor/ and rust/target/ are not committed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD="$HERE/build"
LAYOUT="$REPO/samples/images"
FIXTURES="$REPO/tests/fixtures/images"
REGISTRY=quay.io/meshext-samples
TAG=1.0
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1622505600} # 2021-06-01T00:00:00Z
CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

RUST_UNKNOWN=(header-append oob-auth counter body-rewrite config-panic)
RUST_WASI=(wasi-logger)
# name -> directory holding manifest.yaml
declare -A MANIFEST_DIR=(
  [header-append]=rust/header-append [oob-auth]=rust/oob-auth [counter]=rust/counter
  [body-rewrite]=rust/body-rewrite [wasi-logger]=rust/wasi-logger [config-panic]=rust/config-panic
  [as-add-header]=assemblyscript [c-add-header]=c
)
IMAGES=(header-append oob-auth counter body-rewrite wasi-logger config-panic as-add-header c-add-header)
WASMPLUGIN_IMAGES=(as-add-header c-add-header)

INSTALL=${NO_INSTALL:+0}
INSTALL=${INSTALL:-1}
STEP=all
for arg in "$@"; do
  case "$arg" in
    --no-install) INSTALL=0 ;;
    modules|images|fixtures|meshes|all) STEP=$arg ;;
    -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '\n=== %s\n' "$*"; }

install_tools() {
  log "install"
  local need=()
  [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/wasm32-unknown-unknown ] || need+=(rustc cargo libstd-rust-dev-wasm32)
  command -v wasm-ld >/dev/null || need+=(lld)
  command -v clang >/dev/null || need+=(clang)
  ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 || need+=(libclang-rt-dev-wasm32)
  [ -d /usr/include/wasm32-wasi ] || [ -d /usr/share/wasi-sysroot ] || need+=(wasi-libc)
  command -v umoci >/dev/null || need+=(umoci)
  command -v skopeo >/dev/null || need+=(skopeo)
  command -v wasm-objdump >/dev/null || need+=(wabt)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
  fi
  (cd "$HERE/assemblyscript" && npm ci --no-audit --no-fund)
}

build_rust() {
  log "rust modules (proxy-wasm 0.2.2, Debian rustc $(/usr/bin/rustc --version | cut -d' ' -f2))"
  cd "$HERE/rust"
  if [ ! -f vendor/.stamp ] || [ Cargo.lock -nt vendor/.stamp ]; then
    rm -rf vendor
    cargo vendor --locked vendor >/dev/null   # the rustup cargo (first in PATH)
    touch vendor/.stamp
  fi
  local cargo=(env RUSTC=/usr/bin/rustc RUSTFLAGS="-C linker=wasm-ld"
               /usr/bin/cargo build --config .cargo/vendor-config.toml --offline --locked --release)
  "${cargo[@]}" --target wasm32-unknown-unknown $(printf -- '-p %s ' "${RUST_UNKNOWN[@]}")
  "${cargo[@]}" --target wasm32-wasi $(printf -- '-p %s ' "${RUST_WASI[@]}")
  for n in "${RUST_UNKNOWN[@]}"; do install -m 0644 "target/wasm32-unknown-unknown/release/${n//-/_}.wasm" "$BUILD/$n.wasm"; done
  for n in "${RUST_WASI[@]}"; do install -m 0644 "target/wasm32-wasi/release/${n//-/_}.wasm" "$BUILD/$n.wasm"; done
}

build_as() {
  log "assemblyscript module (@solo-io/proxy-runtime)"
  cd "$HERE/assemblyscript"
  [ -d node_modules ] || npm ci --no-audit --no-fund
  npx asc assembly/index.ts -b "$BUILD/as-add-header.wasm" --use abort=abort_proc_exit --optimize
}

build_c() {
  log "C module (raw proxy-wasm ABI)"
  cd "$HERE/c"
  # no crt1/_start, no WASI imports: only libc's malloc/free/memcpy/strlen are linked in.
  clang --target=wasm32-wasi -O2 -Wall -Wextra -nostartfiles -Wl,--no-entry -Wl,--strip-debug \
    -o "$BUILD/c-add-header.wasm" c-add-header.c
}

build_modules() {
  mkdir -p "$BUILD"
  rm -f "$BUILD"/*.wasm
  build_rust
  build_as
  build_c
  log "check modules"
  python3 "$HERE/wasm-info.py" "$BUILD"/*.wasm | grep -v '^  '
  log "smoke test (node WebAssembly host stub)"
  node "$HERE/smoke-test.mjs"
}

# umoci image from a directory of files -> oci:$LAYOUT:$REGISTRY/<ref>
make_image() {
  local ref=$1 src=$2 tmp=$3
  local name=${ref//[:\/]/_}
  umoci new --image "$tmp/layout:$name"
  umoci config --image "$tmp/layout:$name" --no-history --created "$CREATED" \
    --architecture amd64 --os linux --author "meshext-lint samples" \
    --config.label "org.opencontainers.image.title=$REGISTRY/$ref"
  umoci unpack --rootless --image "$tmp/layout:$name" "$tmp/bundle-$name" >/dev/null
  # keep the rootfs directory's own mtime so the layer holds only the files, no "./" entry
  touch -r "$tmp/bundle-$name/rootfs" "$tmp/rootfs-mtime"
  cp "$src"/* "$tmp/bundle-$name/rootfs/"
  chmod 0644 "$tmp/bundle-$name/rootfs"/*
  touch -h -d "@$SOURCE_DATE_EPOCH" "$tmp/bundle-$name/rootfs"/*
  touch -r "$tmp/rootfs-mtime" "$tmp/bundle-$name/rootfs"
  umoci repack --image "$tmp/layout:$name" --history.created "$CREATED" \
    --history.created_by "COPY $(cd "$src" && echo *) /" --history.author "meshext-lint samples" \
    "$tmp/bundle-$name" >/dev/null
  # an optional second directory becomes a second layer on top
  if [ -n "${4:-}" ]; then
    rm -rf "$tmp/bundle-$name"
    umoci unpack --rootless --image "$tmp/layout:$name" "$tmp/bundle-$name" >/dev/null
    touch -r "$tmp/bundle-$name/rootfs" "$tmp/rootfs-mtime"
    cp "$4"/* "$tmp/bundle-$name/rootfs/"
    chmod 0644 "$tmp/bundle-$name/rootfs"/*
    touch -h -d "@$SOURCE_DATE_EPOCH" "$tmp/bundle-$name/rootfs"/*
    touch -r "$tmp/rootfs-mtime" "$tmp/bundle-$name/rootfs"
    umoci repack --image "$tmp/layout:$name" --history.created "$CREATED" \
      --history.created_by "COPY $(cd "$4" && echo *) /" --history.author "meshext-lint samples" \
      "$tmp/bundle-$name" >/dev/null
  fi
  umoci gc --layout "$tmp/layout"
  skopeo copy --quiet "oci:$tmp/layout:$name" "oci:$LAYOUT:$REGISTRY/$ref"
}

build_images() {
  log "images -> $LAYOUT"
  local tmp
  tmp=$(mktemp -d)
  rm -rf "$LAYOUT"
  umoci init --layout "$tmp/layout"
  for n in "${IMAGES[@]}"; do
    mkdir -p "$tmp/src-$n"
    cp "$HERE/${MANIFEST_DIR[$n]}/manifest.yaml" "$tmp/src-$n/manifest.yaml"
    cp "$BUILD/$n.wasm" "$tmp/src-$n/$n.wasm"
    make_image "$n:$TAG" "$tmp/src-$n" "$tmp"
  done
  mkdir -p "$tmp/src-wasmplugin"
  cp "$BUILD/header-append.wasm" "$tmp/src-wasmplugin/plugin.wasm"
  make_image "header-append-wasmplugin:$TAG" "$tmp/src-wasmplugin" "$tmp"
  # WasmPlugin images of the small modules in both fetcher formats: compat (umoci, one layer
  # with /plugin.wasm) and the 2-layer OCI artifact (`meshext-lint pack`, deterministic), plus
  # a 2-layer compat image (a base layer, then /plugin.wasm) that only Istio >= 1.16 / OSSM >= 2.3
  # read.
  local lint=("cargo" "run" "--quiet" "--manifest-path" "$REPO/Cargo.toml" "--")
  for n in "${WASMPLUGIN_IMAGES[@]}"; do
    mkdir -p "$tmp/src-wp-$n"
    cp "$BUILD/$n.wasm" "$tmp/src-wp-$n/plugin.wasm"
    make_image "$n-wasmplugin:$TAG" "$tmp/src-wp-$n" "$tmp"
    "${lint[@]}" pack --format wasmplugin --variant artifact --module "$BUILD/$n.wasm" \
      --ref "$REGISTRY/$n-wasmplugin-artifact:$TAG" --out "$tmp/artifacts" >/dev/null
    skopeo copy --quiet "oci:$tmp/artifacts:$REGISTRY/$n-wasmplugin-artifact:$TAG" \
      "oci:$LAYOUT:$REGISTRY/$n-wasmplugin-artifact:$TAG"
  done
  mkdir -p "$tmp/src-base"
  printf 'ID=meshext-samples-base\n' >"$tmp/src-base/os-release"
  make_image "c-add-header-wasmplugin-layered:$TAG" "$tmp/src-base" "$tmp" \
    "$tmp/src-wp-c-add-header"
  log "refs in $LAYOUT/index.json"
  python3 - "$LAYOUT/index.json" <<'EOF'
import json, sys
for m in json.load(open(sys.argv[1]))["manifests"]:
    print(m["digest"], m.get("annotations", {}).get("org.opencontainers.image.ref.name"))
EOF
  rm -rf "$tmp"
}

build_fixtures() {
  log "fixtures -> $FIXTURES"
  local ref=$REGISTRY/header-append:$TAG tmp
  tmp=$(mktemp -d)
  mkdir -p "$FIXTURES"
  rm -rf "$FIXTURES/header-append.oci.tar" "$FIXTURES/header-append.docker.tar" "$FIXTURES/header-append-rootfs"
  skopeo copy --quiet "oci:$LAYOUT:$ref" "oci-archive:$FIXTURES/header-append.oci.tar:$ref"
  skopeo copy --quiet "oci:$LAYOUT:$ref" "docker-archive:$FIXTURES/header-append.docker.tar:$ref"
  skopeo copy --quiet "oci:$LAYOUT:$ref" "oci:$tmp/layout:ha"
  umoci unpack --rootless --image "$tmp/layout:ha" "$tmp/bundle" >/dev/null
  mkdir -p "$FIXTURES/header-append-rootfs"
  cp -p "$tmp/bundle/rootfs/manifest.yaml" "$tmp/bundle/rootfs/header-append.wasm" "$FIXTURES/header-append-rootfs/"
  rm -rf "$tmp"
  ls -l "$FIXTURES"
}

build_meshes() {
  local lint=("cargo" "run" "--quiet" "--manifest-path" "$REPO/Cargo.toml" "--")
  local samples="$REPO/samples" v
  for v in v2.6 v3.0; do
    log "mesh $v -> $samples/mesh-$v"
    rm -rf "$samples/mesh-$v"
    cp -r "$samples/mesh" "$samples/mesh-$v"
    local registry=$REGISTRY/migrated variant=compat
    if [ "$v" = v3.0 ]; then registry=$REGISTRY/migrated-artifact variant=artifact; fi
    # Relative paths: the comments `migrate` writes name the source file.
    (cd "$REPO" && "${lint[@]}" migrate "samples/mesh-$v" --images samples/images --to "$v" \
      --in-place --image-out samples/images --registry "$registry" --variant "$variant" >/dev/null)
  done
  # The control planes after the upgrade.
  python3 "$HERE/upgrade-meshes.py" "$samples"
}

export PATH="${HOME:-/root}/.cargo/bin:/root/.cargo/bin:$PATH"
[ "$INSTALL" = 1 ] && install_tools
case "$STEP" in
  modules) build_modules ;;
  images) build_images ;;
  fixtures) build_fixtures ;;
  meshes) build_meshes ;;
  all) build_modules; build_images; build_fixtures; build_meshes ;;
esac
