#!/usr/bin/env bash
# cross/test-packaging.sh: tests cross/ipk.sh and cross/verify-ipk.sh on placeholder
# trees in a temp dir (the real files/ and luci-app-rail/ are not touched): layout,
# modes, conffiles, the architecture name of every target, reproducibility, and that the
# verifier rejects what opkg would reject. Prints "packaging: N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=cross/lib.sh
. "$here/lib.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() {
    local name="$1"
    shift
    if "$@" >"$tmp/out" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $name" >&2
        sed 's/^/    /' "$tmp/out" >&2
    fi
}
fails() { ! "$@"; }

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

check "size: mips ipk within budget" "$here/size.sh"
check "size: a breach of the budget fails" fails env BUDGET_MIPS_IPK=1000 "$here/size.sh"
check "size: a breach of the guard fails within the budget" fails env GUARD_MIPS_IPK=1000 "$here/size.sh"

check "feed Makefile installs every placeholder file" "$here/check-feed.sh"
mkdir -p "$f/usr/share/rail" && echo x >"$f/usr/share/rail/new"
check "feed check notices a file the Makefile misses" fails "$here/check-feed.sh"
rm -r "$f/usr/share/rail"

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

echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
