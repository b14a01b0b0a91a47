#!/usr/bin/env bash
# cross/apk.sh rail <triple> | cross/apk.sh luci-app-rail
# Builds OpenWrt 25.12 packages (apk-tools v3, ADB format) into target/dist/apk/<arch>/
# without the OpenWrt buildroot or apk-tools, byte for byte reproducible for a commit:
#   <arch>/rail-<version>.apk           the same files as the .ipk (cross/pkg.sh)
#   noarch/luci-app-rail-<version>.apk
# OpenWrt names an .apk NAME-VERSION.apk (the architecture is inside it), hence one
# directory per architecture. What goes into the package is what OpenWrt's
# include/package-pack.mk puts there for CONFIG_USE_APK: the installed tree plus
# /lib/apk/packages/<name>.list (every file and link), <name>.conffiles and
# <name>.conffiles_static (path and SHA-256 of each config file as shipped, which
# OpenWrt's sysupgrade and package manager compare against); the post-install,
# post-upgrade and pre-deinstall scripts it generates; and the `apk mkpkg` fields it
# passes (name, version, description, arch, license, origin, url, maintainer, provides,
# depends). cross/adb.py writes the ADB file as `apk mkpkg` would, compressed with
# zopfli (pigz -11) instead of zlib -9. APK_MKPKG="/path/to/apk mkpkg" has real
# apk-tools write it instead, from the same tree and arguments (cross/owrt-apk.sh
# compares the two).
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=cross/pkg.sh
. "$(dirname "$0")/pkg.sh"

ensure_command pigz pigz
command -v python3 >/dev/null || die "python3 is missing (cross/adb.py writes the .apk)"
SOURCE_DATE_EPOCH="$(source_date_epoch)"
export SOURCE_DATE_EPOCH # every mtime in the package, as OpenWrt exports it to apk mkpkg
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
if [ -n "${APK_MKPKG:-}" ]; then
    read -r -a mkpkg <<<"$APK_MKPKG"
else
    mkpkg=(python3 "$CROSS_ROOT/cross/adb.py" mkpkg --zopfli)
fi

# write_scripts <name> <dir> <postinst-pkg>: the scripts package-pack.mk generates for a
# package without preinst or postrm of its own, into <dir>.
write_scripts() {
    local name="$1" dir="$2" postinst_pkg="$3"
    # What both the install and the removal script start with, after their first lines.
    functions() {
        cat <<'EOF'
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
export root="${IPKG_INSTROOT}"
EOF
        echo "export pkgname=\"$name\""
    }
    {
        echo "#!/bin/sh"
        # shellcheck disable=SC2016 # expanded by the script
        echo '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0'
        functions
        echo "add_group_and_user"
        echo "default_postinst"
        [ -z "$postinst_pkg" ] || sed '/^\s*#!/d' <<<"$postinst_pkg"
    } >"$dir/post-install"
    {
        echo "#!/bin/sh"
        echo "export PKG_UPGRADE=1"
        sed '/^\s*#!/d' "$dir/post-install"
    } >"$dir/post-upgrade"
    {
        echo "#!/bin/sh"
        functions
        echo "default_prerm"
    } >"$dir/pre-deinstall"
}

# build_apk <name> <arch> <description> <root> <postinst-pkg> <depends...>
build_apk() {
    local name="$1" arch="$2" description="$3" root="$4" postinst_pkg="$5"
    shift 5
    local version meta scripts out conffile
    version="$(package_version)"
    meta="$root/lib/apk/packages"
    scripts="$SCRATCH/scripts-$name"
    install -d -m0755 "$meta" "$scripts"

    (cd "$root" && find . -type f,l -printf '/%P\n' | LC_ALL=C sort) >"$SCRATCH/$name.list"
    mv "$SCRATCH/$name.list" "$meta/$name.list"
    conffiles_of "$name" "$root" >"$meta/$name.conffiles"
    if [ -s "$meta/$name.conffiles" ]; then
        while read -r conffile; do
            echo "$conffile $(sha256sum <"$root$conffile" | cut -d' ' -f1)"
        done <"$meta/$name.conffiles" >"$meta/$name.conffiles_static"
    else
        rm "$meta/$name.conffiles"
    fi
    chmod 0644 "$meta"/*
    write_scripts "$name" "$scripts" "$postinst_pkg"

    out="$(apk_file "$name" "$arch")"
    mkdir -p "$(dirname "$out")"
    "${mkpkg[@]}" \
        --info "name:$name" \
        --info "version:$version" \
        --info "description:$(tr -s '[:space:]' ' ' <<<"$description" | sed 's/ $//')" \
        --info "arch:$arch" \
        --info "license:$PKG_LICENSE" \
        --info "origin:feeds/rail/$name" \
        --info "url:" \
        --info "maintainer:$PKG_MAINTAINER" \
        --info "provides:$name-any" \
        --script "post-install:$scripts/post-install" \
        --script "post-upgrade:$scripts/post-upgrade" \
        --script "pre-deinstall:$scripts/pre-deinstall" \
        --info "depends:$*" \
        --files "$root" \
        --output "$out"
    echo "$out"
}

case "${1:-}" in
    rail)
        target="${2:?usage: cross/apk.sh rail <triple>}"
        stage_rail "$SCRATCH/rail" "$target"
        build_apk rail "$(openwrt_arch "$target")" "$RAIL_DESCRIPTION" "$SCRATCH/rail" "" \
            "${RAIL_DEPENDS[@]}"
        ;;
    luci-app-rail)
        stage_luci "$SCRATCH/luci-app-rail"
        build_apk luci-app-rail noarch "$LUCI_DESCRIPTION" "$SCRATCH/luci-app-rail" \
            "$LUCI_POSTINST_PKG" "${LUCI_DEPENDS[@]}"
        ;;
    *) die "usage: cross/apk.sh rail <triple> | cross/apk.sh luci-app-rail" ;;
esac
