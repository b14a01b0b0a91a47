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
# shellcheck source=cross/pkg.sh
. "$(dirname "$0")/pkg.sh"

ensure_command pigz pigz
EPOCH="$(source_date_epoch)"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

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

# build_ipk <name> <arch> <section> <description> <data root> <postinst-pkg> <depends...>
build_ipk() {
    local name="$1" arch="$2" section="$3" description="$4" data="$5" postinst_pkg="$6"
    shift 6
    local version work out depends installed_size
    version="$(package_version)"
    depends="$(printf '%s, ' "$@")"
    work="$SCRATCH/ipk-$name"
    mkdir -p "$work/control" "$DIST_DIR"

    (cd "$data" && det_targz .) >"$work/data.tar.gz"
    installed_size="$(gzip -dc "$work/data.tar.gz" | wc -c)"

    {
        echo "Package: $name"
        echo "Version: $version"
        echo "Depends: ${depends%, }"
        echo "Source: feeds/rail/$name"
        echo "SourceName: $name"
        echo "License: $PKG_LICENSE"
        echo "Section: $section"
        echo "SourceDateEpoch: $EPOCH"
        echo "Maintainer: $PKG_MAINTAINER"
        echo "Architecture: $arch"
        echo "Installed-Size: $installed_size"
        printf 'Description: '
        # shellcheck disable=SC2001 # per line, as package-pack.mk does
        sed -e 's,^[[:space:]]*, ,g' <<<"$description"
    } >"$work/control/control"

    conffiles_of "$name" "$data" >"$work/control/conffiles"
    [ -s "$work/control/conffiles" ] || rm "$work/control/conffiles"
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
    chmod 0755 "$work/control/postinst" "$work/control/prerm" "$work/control"
    # The package's own postinst, which default_postinst runs from opkg's info directory.
    if [ -n "$postinst_pkg" ]; then
        echo "$postinst_pkg" >"$work/control/postinst-pkg"
        chmod 0755 "$work/control/postinst-pkg"
    fi
    chmod 0644 "$work/control/control" "$work/control"/conffiles 2>/dev/null || true
    (cd "$work/control" && det_targz .) >"$work/control.tar.gz"

    echo "2.0" >"$work/debian-binary"
    chmod 0644 "$work/debian-binary" "$work/data.tar.gz" "$work/control.tar.gz"
    out="$DIST_DIR/${name}_${version}_${arch}.ipk"
    (cd "$work" && det_targz ./debian-binary ./data.tar.gz ./control.tar.gz) >"$out"
    echo "$out"
}

case "${1:-}" in
    rail)
        target="${2:?usage: cross/ipk.sh rail <triple>}"
        stage_rail "$SCRATCH/data-rail" "$target"
        build_ipk rail "$(openwrt_arch "$target")" net "$RAIL_DESCRIPTION" "$SCRATCH/data-rail" \
            "" "${RAIL_DEPENDS[@]}"
        ;;
    luci-app-rail)
        stage_luci "$SCRATCH/data-luci"
        build_ipk luci-app-rail all luci "$LUCI_DESCRIPTION" "$SCRATCH/data-luci" \
            "$LUCI_POSTINST_PKG" "${LUCI_DEPENDS[@]}"
        ;;
    *) die "usage: cross/ipk.sh rail <triple> | cross/ipk.sh luci-app-rail" ;;
esac
