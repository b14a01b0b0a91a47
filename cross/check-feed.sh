#!/usr/bin/env bash
# cross/check-feed.sh: keeps the OpenWrt feed Makefiles (openwrt/) in step with the tree
# they package and with the packages cross/ipk.sh and cross/apk.sh build, since no OpenWrt
# SDK runs here:
# - every file under files/ is installed by openwrt/rail/Makefile with the install macro
#   its role calls for (INSTALL_BIN 0755, INSTALL_CONF 0600, INSTALL_DATA 0644; the roles
#   cross/pkg.sh applies), and /etc/config/rail is its conffile;
# - both Makefiles give PKG_VERSION (the crate's) and PKG_RELEASE (a plain number), so
#   that 24.10 and 25.12 alike make the version <PKG_VERSION>-r<PKG_RELEASE>, which must be
#   valid in apk's syntax (25.12's luci.mk would otherwise invent one from git);
# - license, maintainer and dependencies are those of cross/pkg.sh (libc is added by the
#   SDK); luci-app-rail is architecture all (noarch in an .apk) and names its maintainer
#   and an empty URL itself, because 25.12's luci.mk puts LuCI's own in their place.
set -euo pipefail
here="$(dirname "$0")"
# shellcheck source=cross/lib.sh
. "$here/lib.sh"
# shellcheck source=cross/pkg.sh
. "$here/pkg.sh"

FEED_MAKEFILE="${FEED_MAKEFILE:-$CROSS_ROOT/openwrt/rail/Makefile}"
LUCI_MAKEFILE="${LUCI_MAKEFILE:-$CROSS_ROOT/openwrt/luci-app-rail/Makefile}"
problems=0
bad() {
    echo "check-feed: $*" >&2
    problems=$((problems + 1))
}

# var <Makefile> <name>: the value of a `NAME:=value` line ("" when absent).
var() { sed -n "s/^$2:=//p" "$1"; }
# is_set <Makefile> <name>: whether the Makefile assigns <name> at all (even empty).
is_set() { grep -q "^$2:=" "$1"; }
# deps <Makefile> <variable>: the +dependencies of a DEPENDS line, sorted.
deps() { sed -n "s/^[[:space:]]*$2:=//p" "$1" | tr ' ' '\n' | sed -n 's/^+//p' | LC_ALL=C sort; }
without_libc() { printf '%s\n' "$@" | grep -vx libc | LC_ALL=C sort; }

for mk in "$FEED_MAKEFILE" "$LUCI_MAKEFILE"; do
    [ "$(var "$mk" PKG_VERSION)" = "$(crate_version)" ] ||
        bad "$mk has PKG_VERSION '$(var "$mk" PKG_VERSION)', Cargo.toml has $(crate_version)"
    [[ "$(var "$mk" PKG_RELEASE)" =~ ^[0-9]+$ ]] ||
        bad "$mk: PKG_RELEASE '$(var "$mk" PKG_RELEASE)' is not a plain number"
    [ "$(var "$mk" PKG_RELEASE)" = "$PKG_RELEASE" ] ||
        bad "$mk has PKG_RELEASE '$(var "$mk" PKG_RELEASE)', the packages here $PKG_RELEASE"
    version="$(var "$mk" PKG_VERSION)-r$(var "$mk" PKG_RELEASE)"
    PYTHONPATH="$here" python3 -c 'import adb, sys; sys.exit(not adb.VERSION_RE.match(sys.argv[1]))' \
        "$version" || bad "$mk: version $version is not valid for apk"
    [ "$(var "$mk" PKG_LICENSE)" = "$PKG_LICENSE" ] ||
        bad "$mk has PKG_LICENSE '$(var "$mk" PKG_LICENSE)', the packages $PKG_LICENSE"
    [ "$(var "$mk" PKG_MAINTAINER)" = "$PKG_MAINTAINER" ] ||
        bad "$mk has PKG_MAINTAINER '$(var "$mk" PKG_MAINTAINER)', the packages $PKG_MAINTAINER"
done
[ "$(deps "$FEED_MAKEFILE" DEPENDS)" = "$(without_libc "${RAIL_DEPENDS[@]}")" ] ||
    bad "$FEED_MAKEFILE DEPENDS $(deps "$FEED_MAKEFILE" DEPENDS | tr '\n' ' ')differ from cross/pkg.sh's ${RAIL_DEPENDS[*]}"
[ "$(deps "$LUCI_MAKEFILE" LUCI_DEPENDS)" = "$(without_libc "${LUCI_DEPENDS[@]}")" ] ||
    bad "$LUCI_MAKEFILE LUCI_DEPENDS $(deps "$LUCI_MAKEFILE" LUCI_DEPENDS | tr '\n' ' ')differ from cross/pkg.sh's ${LUCI_DEPENDS[*]}"
[ "$(var "$LUCI_MAKEFILE" LUCI_PKGARCH)" = all ] || bad "$LUCI_MAKEFILE: LUCI_PKGARCH is not all"
[ "$(var "$LUCI_MAKEFILE" LUCI_MAINTAINER)" = "$PKG_MAINTAINER" ] ||
    bad "$LUCI_MAKEFILE: LUCI_MAINTAINER is not '$PKG_MAINTAINER' (luci.mk would name LuCI's)"
if ! is_set "$LUCI_MAKEFILE" LUCI_URL || [ -n "$(var "$LUCI_MAKEFILE" LUCI_URL)" ]; then
    bad "$LUCI_MAKEFILE: LUCI_URL must be set, empty (luci.mk would name LuCI's repository)"
fi
grep -q '^[[:space:]]*URL:=.' "$FEED_MAKEFILE" && bad "$FEED_MAKEFILE sets a URL the packages here lack"
conffiles="$(sed -n '/^define Package\/rail\/conffiles/,/^endef/p' "$FEED_MAKEFILE" | sed '1d;$d')"
[ "$conffiles" = "/etc/config/rail" ] ||
    bad "$FEED_MAKEFILE: Package/rail/conffiles is '$conffiles', want /etc/config/rail"

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
echo "check-feed: $(basename "$(dirname "$FEED_MAKEFILE")")/Makefile installs all of files/; both Makefiles agree with cross/pkg.sh"
