#!/usr/bin/env bash
# cross/ipk.sh rail <triple> | cross/ipk.sh luci-app-rail
# Builds OpenWrt .ipk packages (opkg, OpenWrt up to 24.10) into target/dist/ without the
# OpenWrt buildroot, byte for byte reproducible for a given commit:
#   rail_<version>_<arch>.ipk       target/<triple>/release/rail as /usr/sbin/rail plus
#                                   everything under files/
#   luci-app-rail_<version>_all.ipk luci-app-rail/htdocs as /www, luci-app-rail/root as /
# An .ipk is a gzip'd tar (not an ar archive as in Debian) of ./debian-binary,
# ./data.tar.gz and ./control.tar.gz; the layout, the control fields and the maintainer
# scripts follow OpenWrt's include/package-pack.mk and scripts/ipkg-build.
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

# What rail needs on the router: `nft` for its table (both nftables-json and
# nftables-nojson provide `nftables`), nf_tables itself, and ctnetlink to flush the
# conntrack entries of a failed uplink by mark.
RAIL_DEPENDS="libc, nftables, kmod-nft-core, kmod-nf-conntrack-netlink"
LUCI_DEPENDS="libc, luci-base, rail"

ensure_command pigz pigz
EPOCH="$(source_date_epoch)"
FILES_DIR="${FILES_DIR:-$CROSS_ROOT/files}"
LUCI_DIR="${LUCI_DIR:-$CROSS_ROOT/luci-app-rail}"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

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

# Deterministic tar.gz of the current directory's listed members: sorted, root-owned,
# one fixed mtime, no gzip name or timestamp. Same tar flags as ipkg-build plus --owner.
# Compressed by pigz at level 11, which is zopfli: an ordinary gzip stream that opkg,
# busybox and zlib read as before, 4.7% smaller than `gzip -9` for rail's data.tar
# (457,023 -> 435,443 B), at about a second of CPU per package. The same input gives the
# same bytes (pigz -n stores no name or time; its blocks do not depend on threads).
det_targz() {
    tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name \
        --mtime="@$EPOCH" -cf - "$@" | pigz -n -11
}

# build_ipk <name> <arch> <depends> <section> <description> <data root>
build_ipk() {
    local name="$1" arch="$2" depends="$3" section="$4" description="$5" data="$6"
    local version work out
    version="$(package_version)"
    work="$SCRATCH/ipk-$name"
    mkdir -p "$work/control" "$DIST_DIR"
    chmod 0755 "$data"

    (cd "$data" && det_targz .) >"$work/data.tar.gz"
    local installed_size
    installed_size="$(gzip -dc "$work/data.tar.gz" | wc -c)"

    {
        echo "Package: $name"
        echo "Version: $version"
        echo "Depends: $depends"
        echo "Source: feeds/rail/$name"
        echo "SourceName: $name"
        echo "License: GPL-2.0-only"
        echo "Section: $section"
        echo "SourceDateEpoch: $EPOCH"
        echo "Architecture: $arch"
        echo "Installed-Size: $installed_size"
        printf 'Description: '
        # shellcheck disable=SC2001 # per line, as package-pack.mk does
        sed -e 's,^[[:space:]]*, ,g' <<<"$description"
    } >"$work/control/control"

    if [ -f "$data/etc/config/$name" ]; then
        echo "/etc/config/$name" >"$work/control/conffiles"
    fi
    # The exact text OpenWrt generates for every package.
    cat >"$work/control/postinst" <<'EOF'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
EOF
    cat >"$work/control/prerm" <<'EOF'
#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
EOF
    chmod 0644 "$work/control/control" "$work/control"/conffiles 2>/dev/null || true
    chmod 0755 "$work/control/postinst" "$work/control/prerm" "$work/control"
    (cd "$work/control" && det_targz .) >"$work/control.tar.gz"

    echo "2.0" >"$work/debian-binary"
    chmod 0644 "$work/debian-binary" "$work/data.tar.gz" "$work/control.tar.gz"
    out="$DIST_DIR/${name}_${version}_${arch}.ipk"
    (cd "$work" && det_targz ./debian-binary ./data.tar.gz ./control.tar.gz) >"$out"
    echo "$out"
}

package_rail() {
    local target="$1" bin root
    bin="${RAIL_BIN:-$(release_binary "$target")}"
    [ -x "$bin" ] || die "no $bin: run 'make cross TARGET=$target' first"
    root="$SCRATCH/data-rail"
    install -d -m0755 "$root/usr/sbin"
    install -m0755 "$bin" "$root/usr/sbin/rail"
    stage_tree "$FILES_DIR" "$root" ""
    build_ipk rail "$(openwrt_arch "$target")" "$RAIL_DEPENDS" net \
        "rail (Redundant Array of Inexpensive Links) watches every uplink through that
uplink, balances new connections over the healthy ones by weight, keeps each connection
on its uplink and fails over within seconds. One small daemon replacing mwan3: netlink,
one nftables table of its own (inet rail), UCI config /etc/config/rail, ubus status." "$root"
}

package_luci() {
    local root
    root="$SCRATCH/data-luci"
    [ -d "$LUCI_DIR" ] || die "no $LUCI_DIR directory"
    mkdir -p "$root"
    stage_tree "$LUCI_DIR/htdocs" "$root" www
    stage_tree "$LUCI_DIR/root" "$root" ""
    build_ipk luci-app-rail all "$LUCI_DEPENDS" luci \
        "LuCI pages for rail: uplink and policy status, configuration of interfaces,
members, policies and rules." "$root"
}

case "${1:-}" in
    rail) package_rail "${2:?usage: cross/ipk.sh rail <triple>}" ;;
    luci-app-rail) package_luci ;;
    *) die "usage: cross/ipk.sh rail <triple> | cross/ipk.sh luci-app-rail" ;;
esac
