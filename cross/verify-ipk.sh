#!/usr/bin/env bash
# cross/verify-ipk.sh <file.ipk> [<path>:<mode> ...]: checks an .ipk the way opkg will read
# it: a gzip'd tar of exactly ./debian-binary ("2.0"), ./data.tar.gz and ./control.tar.gz;
# a control file with the fields opkg needs and an Installed-Size that matches the data;
# the maintainer scripts OpenWrt generates; conffiles naming the package's UCI config;
# every entry owned by root; and each <path>:<mode> present in the data with that mode.
# Exits non-zero with one line per problem.
set -euo pipefail

ipk="${1:?usage: cross/verify-ipk.sh <file.ipk> [<path>:<mode> ...]}"
shift
problems=0
bad() {
    echo "verify-ipk: $(basename "$ipk"): $*" >&2
    problems=$((problems + 1))
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ "$(head -c2 "$ipk" | od -An -tx1 | tr -d ' ')" != "1f8b" ]; then
    echo "verify-ipk: $(basename "$ipk"): not gzip data (an ar archive is a Debian .deb, not an OpenWrt .ipk)" >&2
    exit 1
fi
members="$(tar -tzf "$ipk" | tr '\n' ' ')"
[ "$members" = "./debian-binary ./data.tar.gz ./control.tar.gz " ] ||
    bad "members are '$members', want ./debian-binary ./data.tar.gz ./control.tar.gz"
tar -xzf "$ipk" -C "$work"
[ "$(cat "$work/debian-binary" 2>/dev/null)" = "2.0" ] || bad "debian-binary is not '2.0'"

mkdir "$work/control"
tar -xzf "$work/control.tar.gz" -C "$work/control"
control="$work/control/control"
field() { sed -n "s/^$1: //p" "$control"; }
for f in Package Version Depends Architecture Installed-Size Description; do
    [ -n "$(field "$f")" ] || bad "control has no $f"
done
pkg="$(field Package)"
size="$(gzip -dc "$work/data.tar.gz" | wc -c)"
[ "$(field Installed-Size)" = "$size" ] ||
    bad "Installed-Size $(field Installed-Size) but the data is $size bytes"
case "$(basename "$ipk")" in
    "${pkg}_$(field Version)_$(field Architecture).ipk") ;;
    *) bad "file name does not match ${pkg}_$(field Version)_$(field Architecture).ipk" ;;
esac
for s in postinst:default_postinst prerm:default_prerm; do
    script="$work/control/${s%%:*}"
    [ -x "$script" ] || bad "${s%%:*} missing or not executable"
    grep -qx "${s#*:} \$0 \$@" "$script" 2>/dev/null || bad "${s%%:*} does not call ${s#*:}"
done

listing="$(tar -tzvf "$work/data.tar.gz")"
if grep -v ' 0/0 ' <<<"$listing" | grep -q .; then
    bad "entries not owned by root: $(grep -v ' 0/0 ' <<<"$listing" | awk '{print $6}' | tr '\n' ' ')"
fi
if grep -q " \./etc/config/$pkg\$" <<<"$listing"; then
    grep -qx "/etc/config/$pkg" "$work/control/conffiles" 2>/dev/null ||
        bad "conffiles does not list /etc/config/$pkg"
fi

# tar's symbolic modes for the octal modes an OpenWrt package uses.
symbolic() {
    case "$1" in
        0755) echo "-rwxr-xr-x" ;;
        0644) echo "-rw-r--r--" ;;
        0600) echo "-rw-------" ;;
        *) echo "unsupported mode $1" ;;
    esac
}
for want in "$@"; do
    path="${want%%:*}"
    mode="${want#*:}"
    line="$(grep " \.$path\$" <<<"$listing" || true)"
    if [ -z "$line" ]; then
        bad "data has no $path"
    elif [ "${line%% *}" != "$(symbolic "$mode")" ]; then
        bad "$path has mode ${line%% *}, want $(symbolic "$mode") ($mode)"
    fi
done

[ "$problems" -eq 0 ] || exit 1
echo "verify-ipk: $(basename "$ipk") ok ($(wc -c <"$ipk") bytes, data $size bytes)"
