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
release=0
if [ $# -eq 0 ]; then
    set -- --release --bin rail
    release_size_flags "$target"
    release=1
fi
echo "cross: cargo zigbuild ${ZIGBUILD_ARGS[*]} $*"
cargo zigbuild --locked "${ZIGBUILD_ARGS[@]}" "$@"
if [ "$release" = 1 ]; then
    # Sections no loader or tool on the router reads, which `strip` keeps: MIPS .pdr
    # (procedure descriptors for old debuggers, ~150 KB) and the compiler banners.
    # rust-objcopy ships with rustc itself (so this needs no extra package) and loads the
    # LLVM library next to rustc's.
    sysroot="$(rustc --print sysroot)"
    LD_LIBRARY_PATH="$sysroot/lib" \
        "$sysroot/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/rust-objcopy" \
        --remove-section=.pdr --remove-section=.comment "$(release_binary "$target")"
fi
