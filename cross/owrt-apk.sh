#!/usr/bin/env bash
# cross/owrt-apk.sh: rail's .apk packages against real apk-tools v3 (opt-in: RAIL_OWRT names
# a prefix with bin/apk built from source, docs/owrt.md). Run by tests/owrt_apk.rs under
# `make owrt-test`. In a temp dir, with a placeholder binary and the real files/ and
# luci-app-rail/ trees:
#   1. cross/apk.sh's packages equal, uncompressed and byte for byte, what real
#      `apk mkpkg` writes from the same tree and arguments (APK_MKPKG);
#   2. `apk adbdump` and `apk verify` read them; a tree with a symlink and an empty file
#      gives the same bytes from both writers;
#   3. `apk add` into an offline root installs rail and luci-app-rail, their dependencies
#      coming from stub packages in a local repository indexed by `apk mkndx`; the
#      post-install scripts run (IPKG_INSTROOT and a stub /lib/functions.sh, as OpenWrt's
#      image builder runs them); a root of another architecture refuses the package;
#   4. an upgrade to -r2 keeps the user's edited /etc/config/rail and puts the new default
#      beside it as rail.apk-new, and runs post-upgrade with PKG_UPGRADE=1;
#   5. `apk del` runs pre-deinstall and removes every file it installed, keeping only the
#      edited config.
# Prints "owrt-apk: N passed, N failed"; exits 1 when a check fails or RAIL_OWRT is unusable.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=cross/lib.sh
. "$here/lib.sh"

[ -n "${RAIL_OWRT:-}" ] || die "owrt-apk: RAIL_OWRT must name the prefix with bin/apk (docs/owrt.md)"
APK="$RAIL_OWRT/bin/apk"
[ -x "$APK" ] || die "owrt-apk: no $APK: build apk-tools into RAIL_OWRT first (docs/owrt.md)"
export LD_LIBRARY_PATH="$RAIL_OWRT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ARCH=mips_24kc
TARGET=mips-unknown-linux-musl

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=cross/check.sh
. "$here/check.sh"
has_line() { grep -qxF "$2" "$1"; }
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
export SOURCE_DATE_EPOCH=1700000000

# build <release> <dir> [APK_MKPKG]: rail (placeholder binary bin-<release>) and
# luci-app-rail -r<release> into <dir>.
build() {
    env PKG_RELEASE="$1" DIST_DIR="$2" RAIL_BIN="$tmp/bin-$1" FILES_DIR="$tmp/files-$1" \
        APK_MKPKG="${3:-}" "$here/apk.sh" rail "$TARGET" &&
        env PKG_RELEASE="$1" DIST_DIR="$2" APK_MKPKG="${3:-}" "$here/apk.sh" luci-app-rail
}
inflated() { python3 -c 'import sys, zlib; d = open(sys.argv[1], "rb").read()
assert d[:4] == b"ADBd", d[:4]
sys.stdout.buffer.write(zlib.decompress(d[4:], -15))' "$1"; }
same_inflated() { cmp <(inflated "$1") <(inflated "$2"); }

for r in 1 2; do
    head -c 150000 /dev/urandom >"$tmp/bin-$r"
    chmod 0755 "$tmp/bin-$r"
    cp -r "$CROSS_ROOT/files" "$tmp/files-$r"
done
echo "# the default of -r2" >>"$tmp/files-2/etc/config/rail"
r1="$(PKG_RELEASE=1 package_version)" r2="$(PKG_RELEASE=2 package_version)"

check "packages build (-r1)" build 1 "$tmp/d1"
check "packages build (-r2)" build 2 "$tmp/d2"
check "real apk mkpkg builds the same packages" build 1 "$tmp/real" "$APK mkpkg"
for p in "$ARCH/rail-$r1" "noarch/luci-app-rail-$r1"; do
    check "$p.apk equals apk mkpkg's, uncompressed" \
        same_inflated "$tmp/d1/apk/$p.apk" "$tmp/real/apk/$p.apk"
    check "apk verify --allow-untrusted $p.apk" "$APK" verify --allow-untrusted "$tmp/d1/apk/$p.apk"
done
# What rail's trees lack but cross/adb.py writes too: a symlink and an empty file.
mkdir -p "$tmp/odd/usr/bin" "$tmp/odd/etc"
echo x >"$tmp/odd/usr/bin/x"
ln -s x "$tmp/odd/usr/bin/y"
: >"$tmp/odd/etc/empty"
odd=(--info name:odd --info version:1-r1 --info arch:noarch --files "$tmp/odd")
"$APK" mkpkg "${odd[@]}" --output "$tmp/odd-real.apk" >"$tmp/out" 2>&1 || cat "$tmp/out" >&2
ours_odd() { python3 "$here/adb.py" mkpkg "${odd[@]}" --output "$tmp/odd.apk" && cmp "$tmp/odd.apk" "$tmp/odd-real.apk"; }
check "a symlink and an empty file: as apk mkpkg writes them" ours_odd
"$APK" adbdump "$tmp/d1/apk/$ARCH/rail-$r1.apk" >"$tmp/dump" 2>&1
for line in "  name: rail" "  version: $r1" "  arch: $ARCH" "  license: GPL-2.0-only" \
    "  origin: feeds/rail/rail" "    - rail-any" "    - kmod-nf-conntrack-netlink" \
    "    #!/bin/sh" "    default_postinst" "    default_prerm"; do
    check "apk adbdump shows '${line# *}'" grep -qxF -- "$line" "$tmp/dump"
done

# A local repository: stubs for every dependency, indexed with rail -r1.
repo="$tmp/repo"
mkdir -p "$repo"
for dep in libc nftables kmod-nft-core kmod-nf-conntrack-netlink luci-base; do
    "$APK" mkpkg --info "name:$dep" --info version:1.0-r1 --info "arch:$ARCH" \
        --output "$repo/$dep-1.0-r1.apk" >"$tmp/out" 2>&1 || cat "$tmp/out" >&2
done
index() { cp "$@" "$repo/" && "$APK" mkndx --allow-untrusted --output "$repo/packages.adb" "$repo"/*.apk; }
check "apk mkndx indexes the stubs and -r1" index "$tmp/d1/apk/$ARCH"/*.apk "$tmp/d1/apk/noarch"/*.apk

# The offline root, with the stub /lib/functions.sh the scripts source from IPKG_INSTROOT.
root="$tmp/root"
mkdir -p "$root/lib"
cat >"$root/lib/functions.sh" <<'EOF'
add_group_and_user() { echo "add_group_and_user $pkgname upgrade=${PKG_UPGRADE:-0}" >>"$root/scripts.log"; }
default_postinst() { echo "default_postinst $pkgname upgrade=${PKG_UPGRADE:-0}" >>"$root/scripts.log"; }
default_prerm() { echo "default_prerm $pkgname" >>"$root/scripts.log"; }
EOF
apk_in() { # apk_in <root> <applet> <args...>: apk on an offline root, as OpenWrt runs it
    local r="$1" applet="$2"
    shift 2
    IPKG_INSTROOT="$r" "$APK" "$applet" --root "$r" --allow-untrusted --no-network --no-cache \
        --force-no-chroot --preserve-env --repository "$repo/packages.adb" "$@"
}
check "apk add installs rail and luci-app-rail" apk_in "$root" add --initdb --arch "$ARCH" rail luci-app-rail
check "binary installed" cmp "$tmp/bin-1" "$root/usr/sbin/rail"
check "/usr/sbin/rail is 0755" mode_is "$root/usr/sbin/rail" 755
check "/etc/config/rail is 0600" mode_is "$root/etc/config/rail" 600
check "/etc/init.d/rail is 0755" mode_is "$root/etc/init.d/rail" 755
check "config installed" cmp "$tmp/files-1/etc/config/rail" "$root/etc/config/rail"
check "LuCI view installed" test -f "$root/www/luci-static/resources/view/rail/status.js"
check "rail post-install ran" has_line "$root/scripts.log" "default_postinst rail upgrade=0"
check "luci-app-rail post-install ran" has_line "$root/scripts.log" "default_postinst luci-app-rail upgrade=0"
other="$tmp/other-arch"
mkdir -p "$other"
check "a root of another architecture refuses rail" fails apk_in "$other" add --initdb \
    --arch aarch64_cortex-a53 rail

echo "# edited by the user" >>"$root/etc/config/rail"
cp "$root/etc/config/rail" "$tmp/edited"
rm "$repo"/rail-*.apk "$repo"/luci-app-rail-*.apk
check "apk mkndx indexes -r2" index "$tmp/d2/apk/$ARCH"/*.apk "$tmp/d2/apk/noarch"/*.apk
check "apk upgrade to -r2" apk_in "$root" upgrade
check "binary upgraded" cmp "$tmp/bin-2" "$root/usr/sbin/rail"
check "edited config kept" cmp "$tmp/edited" "$root/etc/config/rail"
check "new default as rail.apk-new" cmp "$tmp/files-2/etc/config/rail" "$root/etc/config/rail.apk-new"
check "post-upgrade ran with PKG_UPGRADE=1" has_line "$root/scripts.log" "default_postinst rail upgrade=1"
"$APK" info --root "$root" -v 2>/dev/null >"$tmp/info"
check "apk lists rail -r2" grep -qx "rail-$r2" "$tmp/info"

find "$root" \( -type f -o -type l \) -printf '%P\n' | LC_ALL=C sort >"$tmp/before-del"
check "apk del removes rail and luci-app-rail" apk_in "$root" del rail luci-app-rail
check "pre-deinstall ran for rail" has_line "$root/scripts.log" "default_prerm rail"
check "pre-deinstall ran for luci-app-rail" has_line "$root/scripts.log" "default_prerm luci-app-rail"
find "$root" \( -type f -o -type l \) -printf '%P\n' | LC_ALL=C sort >"$tmp/after-del"
# What may stay: apk's own database and log, the stub, the script log, the edited config.
ours_left() {
    comm -13 <(printf '%s\n' etc/apk/arch etc/apk/world lib/functions.sh scripts.log \
        var/log/apk.log etc/config/rail | LC_ALL=C sort) "$tmp/after-del" | grep -v '^lib/apk/db/'
}
check "nothing of ours is left but the edited config" fails ours_left
check "the edited config survives del" cmp "$tmp/edited" "$root/etc/config/rail"
check "del saw files to remove" test "$(wc -l <"$tmp/before-del")" -gt 20

echo "owrt-apk: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
