#!/usr/bin/env bash
# cross/setup.sh <triple>: installs what a Docker-free cross build for <triple> needs, and
# nothing when it is already there: ziglang and cargo-zigbuild (pinned, from PyPI, into
# target/cross-tools so no system Python is touched), the target's rust-std through
# rustup, or rust-src for build-std when no rust-std can be had (MIPS is tier 3).
# Source cross/env.sh afterwards (or use cross/build.sh, which does both).
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

target="${1:?usage: cross/setup.sh <triple>}"
table_field "$target" 1 >/dev/null

stamp="$TOOLS_DIR/.installed-$ZIGLANG_VERSION-$CARGO_ZIGBUILD_VERSION"
if [ ! -e "$stamp" ]; then
    echo "cross: installing ziglang $ZIGLANG_VERSION and cargo-zigbuild $CARGO_ZIGBUILD_VERSION into $TOOLS_DIR"
    rm -rf "$TOOLS_DIR"
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        --target "$TOOLS_DIR" \
        "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
    touch "$stamp"
fi

case "$target" in
    mips-* | mipsel-*) ;; # tier 3: rustup has no rust-std to offer
    *)
        if ! rustup target list --installed | grep -qx "$target"; then
            rustup target add "$target" >/dev/null 2>&1 ||
                echo "cross: no prebuilt rust-std for $target here; building std from source"
        fi
        ;;
esac

if needs_build_std "$target" && ! rustup component list --installed | grep -q '^rust-src'; then
    rustup component add rust-src
fi
