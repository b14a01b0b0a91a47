# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables here are read by the scripts that source this
# Sourced by cross/ipk.sh and cross/apk.sh: what goes into the rail and luci-app-rail
# packages whatever the package format: the files with their modes, and the metadata the
# feed Makefiles (openwrt/*/Makefile) declare. cross/check-feed.sh holds the Makefiles to
# the values here, so that a package built here and one built by the SDK agree.

PKG_LICENSE=GPL-2.0-only
PKG_MAINTAINER="rail developers"

# What rail needs on the router: `nft` for its table (both nftables-json and
# nftables-nojson provide `nftables`), nf_tables itself, and ctnetlink to flush the
# conntrack entries of a failed uplink by mark. libc is what OpenWrt adds to every
# package (PKG_DEFAULT_DEPENDS).
RAIL_DEPENDS=(libc nftables kmod-nft-core kmod-nf-conntrack-netlink)
LUCI_DEPENDS=(libc luci-base rail)

RAIL_DESCRIPTION="rail (Redundant Array of Inexpensive Links) watches every uplink through that
uplink, balances new connections over the healthy ones by weight, keeps each connection
on its uplink and fails over within seconds. One small daemon replacing mwan3: netlink,
one nftables table of its own (inet rail), UCI config /etc/config/rail, ubus status."
LUCI_DESCRIPTION="LuCI pages for rail: uplink and policy status, configuration of interfaces,
members, policies and rules."

# luci.mk's postinst for every LuCI app without one of its own (Package/<app>/postinst,
# run after OpenWrt's default_postinst): LuCI's caches go and rpcd reloads, so the new
# menu entries and ACLs work without a reboot.
# shellcheck disable=SC2016 # a script, expanded on the router
LUCI_POSTINST_PKG='[ -n "${IPKG_INSTROOT}" ] || { \
	rm -f /tmp/luci-indexcache.*
	rm -rf /tmp/luci-modulecache/
	/etc/init.d/rpcd reload 2>/dev/null
	exit 0
}'

FILES_DIR="${FILES_DIR:-$CROSS_ROOT/files}"
LUCI_DIR="${LUCI_DIR:-$CROSS_ROOT/luci-app-rail}"

# stage_tree <source dir> <root> <prefix>: installs every file under <source dir> into
# <root>/<prefix>/ with the mode its role calls for. Directories are 0755.
stage_tree() {
    local src="$1" root="$2" prefix="$3" rel dest
    [ -d "$src" ] || return 0
    while IFS= read -r -d '' rel; do
        rel="${rel#./}"
        dest="${prefix:+$prefix/}$rel"
        install -d -m0755 "$root/$(dirname "$dest")"
        install -m "$(mode_for "$dest" "$src/$rel")" "$src/$rel" "$root/$dest"
    done < <(cd "$src" && find . -type f -print0 | LC_ALL=C sort -z)
}

# stage_rail <root> <triple>: /usr/sbin/rail (the release binary, or RAIL_BIN) and
# everything under files/.
stage_rail() {
    local root="$1" bin
    bin="${RAIL_BIN:-$(release_binary "$2")}"
    [ -x "$bin" ] || die "no $bin: run 'make cross TARGET=$2' first"
    install -d -m0755 "$root/usr/sbin"
    install -m0755 "$bin" "$root/usr/sbin/rail"
    stage_tree "$FILES_DIR" "$root" ""
    chmod 0755 "$root"
}

# stage_luci <root>: luci-app-rail/htdocs as /www, luci-app-rail/root as /.
stage_luci() {
    local root="$1"
    [ -d "$LUCI_DIR" ] || die "no $LUCI_DIR directory"
    install -d -m0755 "$root"
    stage_tree "$LUCI_DIR/htdocs" "$root" www
    stage_tree "$LUCI_DIR/root" "$root" ""
}

# conffiles_of <name> <root>: the package's UCI config, the one file opkg and apk keep
# when the user has edited it (Package/<name>/conffiles in the feed Makefile).
conffiles_of() {
    [ -f "$2/etc/config/$1" ] && echo "/etc/config/$1"
    return 0
}
