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

# release_size_flags <triple>: for the shipped binary only (not the test builds, whose
# harness needs unwinding). Where std is built from source it is rebuilt with the
# panic=immediate-abort strategy: a panic becomes a trap instruction, so the panic
# formatting and unwinding machinery of std drop out, and with nothing left to unwind the
# unwind tables (.eh_frame) go too. procd restarts rail after a panic either way; what is
# lost is the panic message on stderr. location-detail=none drops the file:line strings
# that only panic messages used. std's optimize_for_size feature picks its smaller
# algorithms (sorting, formatting); `default` keeps the features cargo would otherwise
# enable, since naming any feature replaces cargo's list.
#
# MIPS builds are also not position independent (-Crelocation-model=static: a static
# non-PIE executable). MIPS PIC code reaches every function and global through the GOT
# (lw + jalr + restoring $gp) where non-PIC code uses jal and lui/addiu: the mips binary
# is 14% smaller without PIE (1,028,500 -> 889,224 B). OpenWrt makes the same trade:
# its default "Regular" PIE setting builds only packages marked as network-exposed
# (PKG_ASLR_PIE_REGULAR, dnsmasq and the like) as PIE, and small-flash targets none,
# because PIE makes MIPS binaries about 30% bigger (include/hardening.mk,
# config/Config-build.in). What is lost is address-space randomisation of rail's own
# code; rail is memory-safe Rust without `unsafe` parsing of network input.
release_size_flags() {
    needs_build_std "$1" || return 0
    local var
    var="CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$1")_RUSTFLAGS"
    ZIGBUILD_ARGS+=(-Zpanic-immediate-abort "-Zbuild-std-features=default,optimize_for_size")
    export CARGO_PROFILE_RELEASE_PANIC=immediate-abort
    export "$var=${!var:-} -Cforce-unwind-tables=no -Zlocation-detail=none"
    case "$1" in
    mips*) export "$var=${!var} -Crelocation-model=static" ;;
    esac
}
