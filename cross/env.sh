# shellcheck shell=bash
# Sourced after cross/setup.sh: puts the pinned cargo-zigbuild first on PATH, pins zig, and
# sets ZIGBUILD_ARGS to the cargo flags <triple> needs (build-std for targets without a
# prebuilt std; RUSTC_BOOTSTRAP lets stable rustc accept -Z for exactly that).
# shellcheck source=cross/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cross_env() {
    local target="$1"
    export PATH="$TOOLS_DIR/bin:$PATH"
    # cargo-zigbuild would take any `zig` on PATH first; pin it to the one we installed.
    export CARGO_ZIGBUILD_ZIG_PATH="$TOOLS_DIR/ziglang/zig"
    ZIGBUILD_ARGS=(--target "$target")
    if needs_build_std "$target"; then
        export RUSTC_BOOTSTRAP=1
        ZIGBUILD_ARGS+=("-Zbuild-std=std,panic_abort")
    fi
}
