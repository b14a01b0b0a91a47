#!/usr/bin/env bash
# cross/check-feed.sh: keeps the OpenWrt feed Makefiles (openwrt/) in step with the tree
# they package, since no OpenWrt SDK runs here: every file under files/ must be installed
# by openwrt/rail/Makefile with the install macro its role calls for (INSTALL_BIN 0755,
# INSTALL_CONF 0600, INSTALL_DATA 0644; the same roles cross/ipk.sh applies), and the
# feed's PKG_VERSION must be the crate's version.
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

FILES_DIR="${FILES_DIR:-$CROSS_ROOT/files}"
FEED_MAKEFILE="${FEED_MAKEFILE:-$CROSS_ROOT/openwrt/rail/Makefile}"
problems=0
bad() {
    echo "check-feed: $*" >&2
    problems=$((problems + 1))
}

feed_version="$(sed -n 's/^PKG_VERSION:=//p' "$FEED_MAKEFILE")"
[ "$feed_version" = "$(crate_version)" ] ||
    bad "$FEED_MAKEFILE has PKG_VERSION $feed_version, Cargo.toml has $(crate_version)"

if [ -d "$FILES_DIR" ]; then
    while IFS= read -r -d '' rel; do
        rel="${rel#./}"
        case "$(mode_for "$rel" "$FILES_DIR/$rel")" in
            0755) macro=INSTALL_BIN ;;
            0600) macro=INSTALL_CONF ;;
            *) macro=INSTALL_DATA ;;
        esac
        grep -qF "\$($macro) \$(PKG_BUILD_DIR)/files/$rel \$(1)/$rel" "$FEED_MAKEFILE" ||
            bad "$FEED_MAKEFILE does not install files/$rel with \$($macro) as \$(1)/$rel"
    done < <(cd "$FILES_DIR" && find . -type f -print0 | LC_ALL=C sort -z)
fi

[ "$problems" -eq 0 ] || exit 1
echo "check-feed: $(basename "$(dirname "$FEED_MAKEFILE")")/Makefile installs all of files/"
