#!/usr/bin/env python3
"""cross/verify-apk.py: checks an OpenWrt 25.12 .apk field by field, as apk-tools and
OpenWrt will read it, through cross/adb.py's reader (which shares no code with its writer).

  verify-apk.py FILE.apk --version V --arch A --depends "a b" --license L
                --maintainer M [--url U] [--postinst-pkg TEXT] [/path:mode ...]

Checked: the container (ADBd raw deflate, schema pckg, one ADB block then data blocks,
zero padding, unsigned as OpenWrt's packages are); name (a valid apk name, and the file
is NAME-VERSION.apk), version (apk syntax and the one given), arch, depends (sorted, as
apk stores them), provides (NAME-any, as OpenWrt adds), license, origin
(feeds/rail/NAME), url (absent unless given), maintainer, a one-line description; the
package hash (SHA-256 of the ADB block with the hash zeroed, first 20 bytes);
installed-size (the sum of the file sizes); every directory and file owned by
root:root, directories 0755, each file's data block in order with its size and SHA-256;
/lib/apk/packages/NAME.list naming exactly the package's files; NAME.conffiles and
NAME.conffiles_static (path and SHA-256 of /etc/config/NAME as shipped) present exactly
when the package has /etc/config/NAME; the three scripts OpenWrt generates, to the
character; and each /path:mode given. Exits 1 with one line per problem.
"""

import argparse
import hashlib
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adb  # noqa: E402

POST_INSTALL = """#!/bin/sh
[ "${{IPKG_NO_SCRIPT}}" = "1" ] && exit 0
[ -s ${{IPKG_INSTROOT}}/lib/functions.sh ] || exit 0
. ${{IPKG_INSTROOT}}/lib/functions.sh
export root="${{IPKG_INSTROOT}}"
export pkgname="{name}"
add_group_and_user
default_postinst
"""
PRE_DEINSTALL = """#!/bin/sh
[ -s ${{IPKG_INSTROOT}}/lib/functions.sh ] || exit 0
. ${{IPKG_INSTROOT}}/lib/functions.sh
export root="${{IPKG_INSTROOT}}"
export pkgname="{name}"
default_prerm
"""
META = "lib/apk/packages"


def check(path, a):
    problems = []

    def bad(msg):
        problems.append(msg)

    with open(path, "rb") as f:
        raw = f.read()
    try:
        pkg = adb.read_package(raw)
    except adb.Invalid as e:
        return ["not a valid apk v3 package: %s" % e]
    info = pkg["info"]
    if not pkg["compressed"]:
        bad("not deflate-compressed (magic ADBd)")
    if "sig" in pkg["blocks"]:
        bad("signature block present: OpenWrt's packages are unsigned")

    name = info.get("name", "")
    if not adb.NAME_RE.match(name):
        bad("name %r is not a valid package name" % name)
    version = info.get("version", "")
    if not adb.VERSION_RE.match(version):
        bad("version %r is not in apk's syntax" % version)
    if version != a.version:
        bad("version %s, want %s" % (version, a.version))
    if os.path.basename(path) != "%s-%s.apk" % (name, version):
        bad("file name is not %s-%s.apk" % (name, version))
    if info.get("hashes") != pkg["uid_expected"]:
        bad("package hash %s, want %s" % (info.get("hashes"), pkg["uid_expected"]))
    want = {
        "arch": a.arch,
        "depends": sorted(a.depends.split()),
        "provides": [name + "-any"],
        "license": a.license,
        "origin": "feeds/rail/" + name,
        "maintainer": a.maintainer,
        "url": a.url or None,
    }
    for field, value in want.items():
        if info.get(field) != value:
            bad("%s is %r, want %r" % (field, info.get(field), value))
    description = info.get("description") or ""
    if not description or "\n" in description or "  " in description:
        bad("description %r: want one line of single-spaced text" % description)
    unknown = set(info) - set(want) - {"name", "version", "hashes", "description",
                                       "installed-size"}
    if unknown:
        bad("unexpected info fields %s" % sorted(unknown))

    # Files, their blocks and hashes.
    files = {}  # "/dir/name" -> (file, body or None)
    blocks = iter(pkg["data"])
    total = 0
    for i, d in enumerate(pkg["paths"], 1):
        if d["acl"] != {"mode": "0755", "user": "root", "group": "root"}:
            bad("directory /%s: acl %s, want 0755 root:root" % (d["name"], d["acl"]))
        for j, f in enumerate(d["files"], 1):
            full = "/" + "/".join(p for p in (d["name"], f["name"]) if p)
            if (f["acl"]["user"], f["acl"]["group"]) != ("root", "root"):
                bad("%s is owned by %s:%s" % (full, f["acl"]["user"], f["acl"]["group"]))
            body = None
            if f["target"] is None:
                total += f["size"]
                if f["size"]:
                    block = next(blocks, None)
                    if block is None or (block["path_idx"], block["file_idx"]) != (i, j):
                        bad("%s: no data block %d/%d next" % (full, i, j))
                    else:
                        body = block["body"]
                        if block["size"] != f["size"] or block["sha256"] != f["hash"]:
                            bad("%s: data does not match its size or hash" % full)
                elif f["hash"] != hashlib.sha256(b"").hexdigest():
                    bad("%s: empty, but its hash is not that of nothing" % full)
            files[full] = (f, body)
    if next(blocks, None) is not None:
        bad("data blocks left over after the last file")
    if info.get("installed-size") != max(total, 1):
        bad("installed-size %s, want %d" % (info.get("installed-size"), max(total, 1)))
    if a.mtime is not None:
        odd = sorted(p for p, (f, _) in files.items() if f["mtime"] != a.mtime)
        if odd:
            bad("mtime is not SOURCE_DATE_EPOCH %d: %s" % (a.mtime, " ".join(odd)))

    def text(p):
        entry = files.get(p)
        return None if entry is None or entry[1] is None else entry[1].decode()

    own = {"/%s/%s.%s" % (META, name, s) for s in ("list", "conffiles", "conffiles_static")}
    listed = "".join(p + "\n" for p in sorted(files) if p not in own)
    if text("/%s/%s.list" % (META, name)) != listed:
        bad("%s.list does not name exactly the package's files" % name)
    conf = "/etc/config/" + name
    conffiles = text("/%s/%s.conffiles" % (META, name))
    static = text("/%s/%s.conffiles_static" % (META, name))
    if conf in files:
        if conffiles != conf + "\n":
            bad("%s.conffiles is %r, want %r" % (name, conffiles, conf + "\n"))
        want_static = "%s %s\n" % (conf, files[conf][0]["hash"])
        if static != want_static:
            bad("%s.conffiles_static is %r, want %r" % (name, static, want_static))
    elif conffiles is not None or static is not None:
        bad("conffiles for a package without %s" % conf)

    post_install = POST_INSTALL.format(name=name) + (
        a.postinst_pkg + "\n" if a.postinst_pkg else "")
    scripts = {
        "post-install": post_install,
        "post-upgrade": "#!/bin/sh\nexport PKG_UPGRADE=1\n" + post_install.split("\n", 1)[1],
        "pre-deinstall": PRE_DEINSTALL.format(name=name),
    }
    if set(pkg["scripts"]) != set(scripts):
        bad("scripts %s, want %s" % (sorted(pkg["scripts"]), sorted(scripts)))
    for kind, want_text in scripts.items():
        if kind in pkg["scripts"] and pkg["scripts"][kind] != want_text:
            bad("%s script differs from OpenWrt's:\n%s" % (kind, pkg["scripts"][kind]))

    for spec in a.expect:
        p, _, mode = spec.rpartition(":")
        if p not in files:
            bad("no %s" % p)
        elif files[p][0]["acl"]["mode"] != mode:
            bad("%s has mode %s, want %s" % (p, files[p][0]["acl"]["mode"], mode))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--version", required=True)
    parser.add_argument("--arch", required=True)
    parser.add_argument("--depends", required=True)
    parser.add_argument("--license", required=True)
    parser.add_argument("--maintainer", required=True)
    parser.add_argument("--url")
    parser.add_argument("--mtime", type=int)
    parser.add_argument("--postinst-pkg", default="",
                        help="the package's own postinst, appended to post-install")
    parser.add_argument("expect", nargs="*", metavar="/path:mode")
    a = parser.parse_intermixed_args()
    a.postinst_pkg = "\n".join(line for line in a.postinst_pkg.split("\n")
                               if not re.match(r"\s*#!", line))
    problems = check(a.file, a)
    for p in problems:
        print("verify-apk: %s: %s" % (os.path.basename(a.file), p), file=sys.stderr)
    if problems:
        return 1
    print("verify-apk: %s ok (%d bytes)" % (os.path.basename(a.file), os.path.getsize(a.file)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
