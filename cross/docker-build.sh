#!/usr/bin/env bash
# cross/docker-build.sh <triple>: the same release build as cross/build.sh, through
# cross-rs and its Docker images (Cross.toml), for users who have a container engine.
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

target="${1:?usage: cross/docker-build.sh <triple>}"
table_field "$target" 1 >/dev/null
command -v cross >/dev/null || die "cross is not installed: cargo install cross --locked"
docker info >/dev/null 2>&1 || podman info >/dev/null 2>&1 ||
    die "no running Docker or Podman engine: use 'make cross TARGET=$target' (no Docker needed)"
cd "$CROSS_ROOT"
case "$target" in
    mips-* | mipsel-*) export RUSTC_BOOTSTRAP=1 ;; # build-std on a stable toolchain
esac
cross build --locked --release --bin rail --target "$target"
