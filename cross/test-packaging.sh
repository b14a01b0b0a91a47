#!/usr/bin/env bash
# cross/test-packaging.sh: tests cross/ipk.sh, cross/apk.sh and their verifiers on
# placeholder trees in a temp dir (the real files/ and luci-app-rail/ are not touched):
# layout, modes, conffiles, every field of the .apk, the architecture name of every
# target, reproducibility, that the verifiers reject what opkg, apk or OpenWrt would trip
# on, and the feed check. Prints "packaging: N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=cross/lib.sh
. "$here/lib.sh"
# shellcheck source=cross/pkg.sh
. "$here/pkg.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=cross/check.sh
. "$here/check.sh"

# Placeholders shaped like the real trees.
f="$tmp/files"
mkdir -p "$f/etc/config" "$f/etc/init.d" "$f/etc/hotplug.d/iface" "$f/usr/share/acl.d"
echo "config globals 'globals'" >"$f/etc/config/rail"
printf '#!/bin/sh /etc/rc.common\nUSE_PROCD=1\n' >"$f/etc/init.d/rail"
printf '#!/bin/sh\n' >"$f/etc/hotplug.d/iface/30-rail"
echo '{ "user": "rail" }' >"$f/usr/share/acl.d/rail.json"
chmod 0644 "$f/etc/init.d/rail" # a checkout may lose the x bit: the role decides
l="$tmp/luci"
mkdir -p "$l/htdocs/luci-static/resources/view/rail" "$l/root/usr/share/luci/menu.d" \
    "$l/root/usr/share/rpcd/acl.d"
echo "'use strict';" >"$l/htdocs/luci-static/resources/view/rail/status.js"
echo '{}' >"$l/root/usr/share/luci/menu.d/luci-app-rail.json"
echo '{}' >"$l/root/usr/share/rpcd/acl.d/luci-app-rail.json"
bin="$tmp/rail"
head -c 100000 /dev/urandom >"$bin"
chmod 0755 "$bin"

export FILES_DIR="$f" LUCI_DIR="$l" RAIL_BIN="$bin" SOURCE_DATE_EPOCH=1700000000
export PYTHONPATH="$here" # cross/adb.py for the .apk checks below
export DIST_DIR="$tmp/dist" CARGO_TARGET_DIR="$tmp/target" # no real binaries in the size table
ipk="$DIST_DIR/rail_$(package_version)_mips_24kc.ipk"
luci="$DIST_DIR/luci-app-rail_$(package_version)_all.ipk"

check "rail ipk builds" "$here/ipk.sh" rail mips-unknown-linux-musl
check "rail ipk layout and modes" "$here/verify-ipk.sh" "$ipk" \
    /usr/sbin/rail:0755 /etc/config/rail:0600 /etc/init.d/rail:0755 \
    /etc/hotplug.d/iface/30-rail:0755 /usr/share/acl.d/rail.json:0644
check "binary is packaged unchanged" \
    cmp "$bin" <(tar -xzOf "$ipk" ./data.tar.gz | tar -xzOf - ./usr/sbin/rail)
check "control names the dependencies" \
    grep -qx 'Depends: libc, nftables, kmod-nft-core, kmod-nf-conntrack-netlink' \
    <(tar -xzOf "$ipk" ./control.tar.gz | tar -xzOf - ./control)

cp "$ipk" "$tmp/first.ipk"
touch "$f/etc/config/rail" "$bin" # new mtimes must not change the bytes
check "rebuild is byte-identical" "$here/ipk.sh" rail mips-unknown-linux-musl
check "same bytes twice" cmp "$tmp/first.ipk" "$ipk"

while IFS='|' read -r triple arch _; do
    check "$triple is $arch" "$here/ipk.sh" rail "$triple"
    check "$triple package named for $arch" \
        "$here/verify-ipk.sh" "$DIST_DIR/rail_$(package_version)_$arch.ipk" /usr/sbin/rail:0755
done <<<"$CROSS_TABLE"
check "OPENWRT_ARCH overrides the table" env OPENWRT_ARCH=aarch64_cortex-a72 \
    "$here/ipk.sh" rail aarch64-unknown-linux-musl
check "override lands in the name" test -f "$DIST_DIR/rail_$(package_version)_aarch64_cortex-a72.ipk"

check "luci ipk builds" "$here/ipk.sh" luci-app-rail
check "luci ipk: htdocs under /www, root under /" "$here/verify-ipk.sh" "$luci" \
    /www/luci-static/resources/view/rail/status.js:0644 \
    /usr/share/luci/menu.d/luci-app-rail.json:0644 /usr/share/rpcd/acl.d/luci-app-rail.json:0644
check "luci ipk is architecture all" \
    grep -qx 'Architecture: all' <(tar -xzOf "$luci" ./control.tar.gz | tar -xzOf - ./control)
check "luci ipk carries luci.mk's postinst-pkg" \
    cmp <(echo "$LUCI_POSTINST_PKG") <(tar -xzOf "$luci" ./control.tar.gz | tar -xzOf - ./postinst-pkg)

# .apk (OpenWrt 25.12): every field through cross/verify-apk.py.
apk="$(apk_file rail mips_24kc)"
lapk="$(apk_file luci-app-rail noarch)"
common=(--version "$(package_version)" --license "$PKG_LICENSE" --maintainer "$PKG_MAINTAINER"
    --mtime "$SOURCE_DATE_EPOCH")
verify_rail() { "$here/verify-apk.py" "$1" --arch "$2" --depends "${RAIL_DEPENDS[*]}" "${common[@]}" "${@:3}"; }
verify_luci() {
    "$here/verify-apk.py" "$1" --arch noarch --depends "${LUCI_DEPENDS[*]}" "${common[@]}" \
        --postinst-pkg "$LUCI_POSTINST_PKG" "${@:2}"
}
# file_of <apk> <path>: a file's contents, from its data block.
file_of() {
    python3 - "$1" "$2" <<'EOF'
import sys
import adb
pkg = adb.read_package(open(sys.argv[1], "rb").read())
blocks = {(b["path_idx"], b["file_idx"]): b["body"] for b in pkg["data"]}
for i, d in enumerate(pkg["paths"], 1):
    for j, f in enumerate(d["files"], 1):
        if "/" + "/".join(p for p in (d["name"], f["name"]) if p) == sys.argv[2]:
            sys.stdout.buffer.write(blocks.get((i, j), b""))
EOF
}
check "rail apk builds" "$here/apk.sh" rail mips-unknown-linux-musl
check "rail apk: every field" verify_rail "$apk" mips_24kc \
    /usr/sbin/rail:0755 /etc/config/rail:0600 /etc/init.d/rail:0755 \
    /etc/hotplug.d/iface/30-rail:0755 /usr/share/acl.d/rail.json:0644
check "apk: binary is packaged unchanged" cmp "$bin" <(file_of "$apk" /usr/sbin/rail)
check "apk: config is packaged unchanged" cmp "$f/etc/config/rail" <(file_of "$apk" /etc/config/rail)
cp "$apk" "$tmp/first.apk"
touch "$f/etc/config/rail" "$bin"
check "apk rebuild is byte-identical" "$here/apk.sh" rail mips-unknown-linux-musl
check "same apk bytes twice" cmp "$tmp/first.apk" "$apk"
while IFS='|' read -r triple arch _; do
    check "$triple apk is $arch" "$here/apk.sh" rail "$triple"
    check "$triple apk: every field" verify_rail "$(apk_file rail "$arch")" "$arch" /usr/sbin/rail:0755
done <<<"$CROSS_TABLE"
check "luci apk builds" "$here/apk.sh" luci-app-rail
check "luci apk: every field, noarch" verify_luci "$lapk" \
    /www/luci-static/resources/view/rail/status.js:0644 \
    /usr/share/luci/menu.d/luci-app-rail.json:0644 /usr/share/rpcd/acl.d/luci-app-rail.json:0644
check "adb.py refuses a version apk refuses (0.1.0-1)" fails python3 "$here/adb.py" mkpkg \
    --info name:rail --info version:0.1.0-1 --info arch:noarch --output "$tmp/bad.apk"
check "adb.py refuses a name apk refuses (-rail)" fails python3 "$here/adb.py" mkpkg \
    --info name:-rail --info version:0.1.0-r1 --info arch:noarch --output "$tmp/bad.apk"
check "adb.py writes a package of a valid name and version" python3 "$here/adb.py" mkpkg \
    --info name:rail --info version:0.1.0-r1 --info arch:noarch --output "$tmp/good.apk"

# The apk verifier must reject what apk or OpenWrt would trip on. repack <in> <out> <change>
# rebuilds a package from its own contents with one change, through the writer.
repack() {
    python3 - "$@" <<'EOF'
import os, sys
import adb
src, out, change = sys.argv[1:4]
raw = open(src, "rb").read()
pkg = adb.read_package(raw)
tree = out + ".tree"
blocks = {(b["path_idx"], b["file_idx"]): b["body"] for b in pkg["data"]}
for i, d in enumerate(pkg["paths"], 1):
    os.makedirs(os.path.join(tree, d["name"]), exist_ok=True)
    for j, f in enumerate(d["files"], 1):
        p = os.path.join(tree, d["name"], f["name"])
        open(p, "wb").write(blocks.get((i, j), b""))
        os.chmod(p, int(f["acl"]["mode"], 8))
kind, _, arg = change.partition("=")
if kind == "file":
    path, _, text = arg.partition(":")
    open(tree + path, "w").write(text)
elif kind == "script":
    name, _, text = arg.partition(":")
    pkg["scripts"][name] = text
info = {k: (" ".join(v) if isinstance(v, list) else str(v)) for k, v in pkg["info"].items()
        if k not in ("hashes", "installed-size")}
scripts = {k: v.encode() for k, v in pkg["scripts"].items()}
data = adb.mkpkg(info, scripts, tree)
if kind == "flip":  # a byte in the middle: inside the binary's data block
    data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:]
open(out, "wb").write(data if kind == "uncompressed" else adb.compress(data, False))
EOF
}
r="$tmp/repacked/rail-$(package_version).apk"
mkdir -p "$tmp/repacked"
repack_accepted() { repack "$apk" "$r" "$1" && verify_rail "$r" mips_24kc; }
repack_rejected() { repack "$apk" "$r" "$1" || return 2; ! verify_rail "$r" mips_24kc; }
check "repacked unchanged: verifier accepts" repack_accepted none
for change in "flip" "uncompressed" \
    "file=/lib/apk/packages/rail.conffiles_static:/etc/config/rail 00" \
    "file=/lib/apk/packages/rail.list:/usr/sbin/rail" \
    "script=post-install:#!/bin/sh" "file=/usr/sbin/rail-extra:x"; do
    rm -rf "$r" "$r.tree"
    check "verifier rejects: ${change%%:*}" repack_rejected "$change"
done

check "size: mips ipk within budget" "$here/size.sh"
check "size: a breach of the budget fails" fails env BUDGET_MIPS_IPK=1000 "$here/size.sh"
check "size: a breach of the guard fails within the budget" fails env GUARD_MIPS_IPK=1000 "$here/size.sh"

check "feed Makefile installs every placeholder file" "$here/check-feed.sh"
mkdir -p "$f/usr/share/rail" && echo x >"$f/usr/share/rail/new"
check "feed check notices a file the Makefile misses" fails "$here/check-feed.sh"
rm -r "$f/usr/share/rail"
sed 's/^PKG_RELEASE:=.*/PKG_RELEASE:=1-beta/' "$CROSS_ROOT/openwrt/rail/Makefile" >"$tmp/rail.mk"
check "feed check refuses a release apk refuses" fails env FEED_MAKEFILE="$tmp/rail.mk" "$here/check-feed.sh"
sed 's/ +kmod-nft-core//' "$CROSS_ROOT/openwrt/rail/Makefile" >"$tmp/rail.mk"
check "feed check notices a dependency the packages have" fails env FEED_MAKEFILE="$tmp/rail.mk" "$here/check-feed.sh"
grep -v '^LUCI_URL:=' "$CROSS_ROOT/openwrt/luci-app-rail/Makefile" >"$tmp/luci.mk"
check "feed check wants luci-app-rail's URL set empty" fails env LUCI_MAKEFILE="$tmp/luci.mk" "$here/check-feed.sh"

# The verifier must reject what opkg rejects, or the checks above prove nothing.
mkdir "$tmp/ar" && tar -xzf "$ipk" -C "$tmp/ar"
(cd "$tmp/ar" && ar rc "$tmp/debian-style.ipk" debian-binary control.tar.gz data.tar.gz)
check "ar archive made for the next check" test -s "$tmp/debian-style.ipk"
check "verifier rejects an ar archive" fails "$here/verify-ipk.sh" "$tmp/debian-style.ipk"
check "verifier rejects a wrong mode" fails "$here/verify-ipk.sh" "$ipk" /etc/config/rail:0644
check "verifier rejects a missing file" fails "$here/verify-ipk.sh" "$ipk" /etc/init.d/nope:0755
(cd "$tmp/ar" && tar -czf "$tmp/two.ipk" ./debian-binary ./data.tar.gz)
check "verifier rejects a missing member" fails "$here/verify-ipk.sh" "$tmp/two.ipk"
check "ipk.sh refuses without a binary" fails env RAIL_BIN="$tmp/none" \
    "$here/ipk.sh" rail mips-unknown-linux-musl
check "apk.sh refuses without a binary" fails env RAIL_BIN="$tmp/none" \
    "$here/apk.sh" rail mips-unknown-linux-musl

echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
