# shellcheck shell=bash
# Sourced after cross/setup.sh: puts the pinned cargo-zigbuild first on PATH, pins zig, and
# sets ZIGBUILD_ARGS to the cargo flags <triple> needs (build-std for targets without a
# prebuilt std; RUSTC_BOOTSTRAP lets stable cargo and rustc accept its -Z flag).
# shellcheck source=cross/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cross_env() {
    local target="$1"
    export PATH="$TOOLS_DIR/bin:$PATH"
    # cargo-zigbuild would take any `zig` on PATH first; pin it to the one we installed.
    export CARGO_ZIGBUILD_ZIG_PATH="$TOOLS_DIR/ziglang/zig"
    # Set for every target, not only build-std ones: proc-macro2's build script reruns
    # when RUSTC_BOOTSTRAP changes, and the host-side crates are shared by all targets,
    # so switching it per target would rebuild them (and all that depends on them).
    export RUSTC_BOOTSTRAP=1
    ZIGBUILD_ARGS=(--target "$target")
    if needs_build_std "$target"; then
        ZIGBUILD_ARGS+=("-Zbuild-std=std,panic_abort")
        # Tier-2 musl targets link "self-contained" with the crt objects and libc that
        # rust-std ships; without rust-std, let zig supply them as it does for MIPS.
        export "CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$target")_RUSTFLAGS=-Clink-self-contained=no"
    fi
}
