# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables here are read by the scripts that source this
# Shared by the cross/ scripts (sourced, not run): the table from Rust target triple to
# OpenWrt package architecture and qemu-user binary, the pinned tool versions, and the
# paths every script agrees on. One place, so the build, package, size and CI steps
# cannot disagree about where a binary is or what it is called.

# Pinned so that a fresh CI machine builds exactly what was measured.
ZIGLANG_VERSION=0.15.2
CARGO_ZIGBUILD_VERSION=0.24.0

CROSS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST_DIR="${DIST_DIR:-$CROSS_ROOT/target/dist}"
TOOLS_DIR="$CROSS_ROOT/target/cross-tools"

# triple | OpenWrt architecture (default) | qemu-user binary | typical OpenWrt targets
# The OpenWrt architecture is a property of the firmware, not of the binary: one armv7 or
# aarch64 binary runs on every subtarget of its family, so `OPENWRT_ARCH=...` overrides it
# (e.g. aarch64_cortex-a72, arm_cortex-a9_vfpv3-d16, i386_pentium-mmx).
CROSS_TABLE="\
mips-unknown-linux-musl|mips_24kc|qemu-mips-static|ath79 (big-endian MIPS32r2)
mipsel-unknown-linux-musl|mipsel_24kc|qemu-mipsel-static|ramips mt7621/mt76x8
armv7-unknown-linux-musleabihf|arm_cortex-a7_neon-vfpv4|qemu-arm-static|ipq40xx; any ARMv7 with VFP
arm-unknown-linux-musleabi|arm_mpcore|qemu-arm-static|ARMv6 without FPU (oxnas ox820)
aarch64-unknown-linux-musl|aarch64_cortex-a53|qemu-aarch64-static|mediatek filogic, mvebu, bcm27xx
i586-unknown-linux-musl|i386_pentium4|qemu-i386-static|x86 generic (x86/legacy: i386_pentium-mmx)
x86_64-unknown-linux-musl|x86_64|qemu-x86_64-static|x86/64"

die() {
    echo "cross: $*" >&2
    exit 1
}

# field <triple> <n>: the n-th column (1-based) of the table row for <triple>.
# ensure_command <command> <debian package>: installs the package when the command is
# missing (CI and these machines run Debian as root), idempotently.
ensure_command() {
    command -v "$1" >/dev/null && return 0
    command -v apt-get >/dev/null || die "'$1' is missing: install the package that provides it ($2 on Debian)"
    echo "cross: installing $2 for $1" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

table_field() {
    local row
    row="$(grep "^$1|" <<<"$CROSS_TABLE")" ||
        die "unknown target '$1'; known: $(cut -d'|' -f1 <<<"$CROSS_TABLE" | tr '\n' ' ')"
    cut -d'|' -f"$2" <<<"$row"
}

openwrt_arch() { echo "${OPENWRT_ARCH:-$(table_field "$1" 2)}"; }
qemu_binary() { table_field "$1" 3; }

# Targets without a prebuilt std on this toolchain: MIPS is tier 3 everywhere, and the
# others fall back to build-std when `rustup target add` cannot fetch their rust-std (the
# mirror these machines use serves only some targets). cross/setup.sh records the decision.
needs_build_std() {
    case "$1" in
        mips-* | mipsel-*) return 0 ;;
    esac
    ! rustup target list --installed 2>/dev/null | grep -qx "$1"
}

# mode_for <path inside the package> <source file>: OpenWrt's install macros decide
# modes by role: INSTALL_BIN 0755 for programs, init and hotplug scripts; INSTALL_CONF
# 0600 for UCI configs; INSTALL_DATA 0644 for the rest. A source file already marked
# executable stays executable.
mode_for() {
    case "$1" in
        etc/config/*) echo 0600 ;;
        usr/sbin/* | usr/bin/* | etc/init.d/* | etc/hotplug.d/* | etc/uci-defaults/* | \
            usr/libexec/*) echo 0755 ;;
        *) if [ -x "$2" ]; then echo 0755; else echo 0644; fi ;;
    esac
}

crate_version() {
    sed -n 's/^version = "\(.*\)"/\1/p' "$CROSS_ROOT/Cargo.toml" | head -n1
}

# OpenWrt 24.10 and 25.12 write versions as <upstream>-r<release>, which is also apk's
# version syntax (1.0-1 or 1.0-beta would be refused by apk).
PKG_RELEASE="${PKG_RELEASE:-1}"
package_version() { echo "$(crate_version)-r$PKG_RELEASE"; }

# apk_file <name> <arch>: where cross/apk.sh writes a package (OpenWrt names it
# NAME-VERSION.apk, so each architecture gets a directory).
apk_file() { echo "$DIST_DIR/apk/$2/$1-$(package_version).apk"; }

release_binary() { echo "${CARGO_TARGET_DIR:-$CROSS_ROOT/target}/$1/release/rail"; }

# Deterministic archives: the mtime is the last commit's, so the same tree gives the same
# bytes (and the size budget compares like with like).
source_date_epoch() {
    if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
        echo "$SOURCE_DATE_EPOCH"
    else
        git -C "$CROSS_ROOT" log -1 --format=%ct 2>/dev/null || echo 0
    fi
}
