#!/usr/bin/env bash
# cross/build.sh <triple> [cargo args...]: a Docker-free release build of rail for an
# OpenWrt target with cargo-zigbuild (zig as the musl C toolchain and linker). Installs
# its tools first (cross/setup.sh). The binary lands in target/<triple>/release/rail;
# extra arguments go to cargo, e.g. `--tests --no-run` (see cross/qemu-test.sh).
set -euo pipefail
here="$(dirname "$0")"
# shellcheck source=cross/env.sh
. "$here/env.sh"

target="${1:?usage: cross/build.sh <triple> [cargo args...]}"
shift
"$here/setup.sh" "$target"
cross_env "$target"

cd "$CROSS_ROOT"
if [ $# -eq 0 ]; then
    set -- --release --bin rail
    release_size_flags "$target"
fi
echo "cross: cargo zigbuild ${ZIGBUILD_ARGS[*]} $*"
cargo zigbuild --locked "${ZIGBUILD_ARGS[@]}" "$@"
