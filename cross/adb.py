#!/usr/bin/env python3
"""cross/adb.py: apk-tools v3 packages (the ADB format of OpenWrt 25.12) without apk-tools.

  adb.py mkpkg --info KEY:VALUE ... [--script TYPE:FILE ...] --files DIR --output FILE.apk
  adb.py dump FILE.apk            the package as JSON, read back by an independent reader

`mkpkg` takes the arguments of `apk mkpkg` as OpenWrt's include/package-pack.mk passes them
and lays the package out as apk-tools 3.0 does (src/app_mkpkg.c, src/adb.c): the same
order of writes, the same de-duplication of equal values, the same sorting of arrays, so
that for the same tree and arguments the uncompressed bytes are those of `apk mkpkg`
(the opt-in test against real apk-tools compares them). Every entry is owned by
root:root, as under OpenWrt's fakeroot; modes come from the tree. Unsigned, as OpenWrt's
packages are: apk trusts a package through the signed index that lists its hash, or
with --allow-untrusted.

`dump` decodes a package without any code of the writer: the CI test checks the
packages through it, field by field, and recomputes every hash.

Python standard library only (zlib for raw deflate, hashlib for SHA-256).
"""

import argparse
import hashlib
import json
import os
import re
import stat
import struct
import subprocess
import sys
import zlib

# Value types: the top four bits of a 32-bit little-endian value (src/adb.h).
T_SPECIAL, T_INT, T_INT32, T_INT64 = 0x0, 0x1, 0x2, 0x3
T_BLOB8, T_BLOB16, T_BLOB32, T_ARRAY, T_OBJECT = 0x8, 0x9, 0xA, 0xD, 0xE
NULL = 0
VALUE_MASK = 0x0FFFFFFF

BLOCK_ADB, BLOCK_SIG, BLOCK_DATA, BLOCK_EXT = 0, 1, 2, 3
SCHEMA_PACKAGE = b"pckg"

# Field indexes (src/apk_adb.h). Package info:
PI_FIELDS = [None, "name", "version", "hashes", "description", "arch", "license", "origin",
             "maintainer", "url", "repo-commit", "build-time", "installed-size", "file-size",
             "provider-priority", "depends", "provides", "replaces", "install-if",
             "recommends", "layer", "tags"]
PI = {name: i for i, name in enumerate(PI_FIELDS) if name}
SCRIPT_FIELDS = [None, "trigger", "pre-install", "post-install", "pre-deinstall",
                 "post-deinstall", "pre-upgrade", "post-upgrade"]
SCRIPT = {name: i for i, name in enumerate(SCRIPT_FIELDS) if name}
PKG_INFO, PKG_PATHS, PKG_SCRIPTS = 1, 2, 3
ACL_MODE, ACL_USER, ACL_GROUP = 1, 2, 3
FI_NAME, FI_ACL, FI_SIZE, FI_MTIME, FI_HASHES, FI_TARGET = 1, 2, 3, 4, 5, 6
DI_NAME, DI_ACL, DI_FILES = 1, 2, 3
DEP_NAME, DEP_VERSION, DEP_MATCH = 1, 2, 3

# Dependency operators (src/apk_version.h).
V_EQUAL, V_LESS, V_GREATER, V_FUZZY, V_CONFLICT = 1, 2, 4, 8, 16
V_ANY = V_EQUAL | V_LESS | V_GREATER | V_FUZZY
OP_BITS = {"<": V_LESS, ">": V_GREATER, "=": V_EQUAL, "~": V_FUZZY | V_EQUAL}

# apk's version grammar (src/version.c): digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}
VERSION_RE = re.compile(
    r"[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*"
    r"(~[0-9a-f]+)?(-r[0-9]+)?\Z")
# Package names (src/ctype.c PACKAGE_NAME): an alphanumeric, then [A-Za-z0-9+._-].
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9+._-]*\Z")
DEP_NAME_RE = re.compile(r"[A-Za-z0-9+._:/\[\],-]+\Z")


class Invalid(Exception):
    """A value apk-tools would refuse; the message names the field."""


def val(kind, payload):
    return (kind << 28) | payload


def kind_of(v):
    return v >> 28


# ---------------------------------------------------------------------------------------
# Writer


class AdbWriter:
    """The ADB block under construction: an 8-byte header, then values, each aligned to
    its size. Equal bytes written with the same alignment are stored once (adb_w_data);
    a cached copy at an offset the new alignment does not allow is replaced by a new one,
    as apk does."""

    def __init__(self):
        self.buf = bytearray(8)  # adb_hdr: compat 0, version 0, reserved, root
        self.cache = {}

    def _raw(self, data, align):
        self.buf += bytes(-len(self.buf) % align)
        offset = len(self.buf)
        self.buf += data
        if offset > VALUE_MASK:
            raise Invalid("package metadata over 256 MiB")
        return offset

    def _data(self, data, align):
        offset = self.cache.get(data)
        if offset is None or offset % align:
            offset = self._raw(data, align)
            self.cache[data] = offset
        return offset

    def blob(self, data, cached=True):
        if not data:
            return NULL
        if len(data) > 0xFFFF:
            head, kind = struct.pack("<I", len(data)), T_BLOB32
        elif len(data) > 0xFF:
            head, kind = struct.pack("<H", len(data)), T_BLOB16
        else:
            head, kind = bytes([len(data)]), T_BLOB8
        write = self._data if cached else self._raw
        return val(kind, write(head + data, len(head)))

    def int(self, n):
        if n >= 1 << 32:
            return val(T_INT64, self._data(struct.pack("<Q", n), 4))
        if n >= 1 << 28:
            return val(T_INT32, self._data(struct.pack("<I", n), 4))
        return val(T_INT, n)

    def obj(self, fields):
        """fields: the values of indexes 1.. (NULL where unset). Trailing NULLs are not
        stored; an object with nothing set is NULL itself. apk-tools tags the arrays of
        a package as objects too (adb_w_obj), so every container here is T_OBJECT."""
        fields = list(fields)
        while fields and fields[-1] == NULL:
            fields.pop()
        if not fields:
            return NULL
        words = [len(fields) + 1] + fields
        return val(T_OBJECT, self._data(struct.pack("<%dI" % len(words), *words), 4))


def parse_dependency(spec):
    """[!]name[op version] as apk_dep_parse reads it: (name, version or None, op)."""
    op = 0
    if spec.startswith("!"):
        op, spec = V_CONFLICT, spec[1:]
    m = re.match(r"([^<>=~]*)([<>=~]+)(.*)\Z", spec, re.S)
    if m:
        name, ops, version = m.groups()
        for c in ops:
            op |= OP_BITS[c]
        if not VERSION_RE.match(version):
            raise Invalid("dependency %r: version %r is not an apk version" % (spec, version))
    else:
        name, version = spec, None
        op |= V_ANY
    if not DEP_NAME_RE.match(name):
        raise Invalid("dependency %r: bad name" % spec)
    return name, version, op


def version_key(v):
    """apk's version order, enough to sort dependencies that name the same package."""
    tokens = re.findall(r"[0-9]+|[a-z]+|[^0-9a-z]", v)
    return [(0, int(t)) if t.isdigit() else (1, t) for t in tokens]


def write_dependencies(db, text, field):
    """A dependency list as dependencies_fromstring writes it: each object in the order
    given, then the array sorted by (name, version, match) without duplicates."""
    entries = []
    for spec in text.split():
        name, version, op = parse_dependency(spec)
        fields = [db.blob(name.encode()), NULL, NULL]
        if op != V_ANY:
            fields[DEP_VERSION - 1] = db.blob((version or "").encode())
            if op != V_EQUAL:
                fields[DEP_MATCH - 1] = db.int(op)
        entries.append(((name.encode(), version_key(version or ""), op), db.obj(fields)))
    if not entries:
        raise Invalid("%s: empty list" % field)
    unique = []
    for key, v in sorted(entries, key=lambda e: e[0]):
        if not unique or unique[-1][1] != v:
            unique.append((key, v))
    return db.obj([v for _, v in unique])


def info_value(db, field, text):
    """One --info field, checked and written as the schema's fromstring would."""
    if field in ("depends", "provides", "replaces", "install-if", "recommends"):
        return write_dependencies(db, text, field)
    if field == "name" and not NAME_RE.match(text):
        raise Invalid("name %r is not a valid package name" % text)
    if field == "version" and not VERSION_RE.match(text):
        raise Invalid("version %r is not an apk version (e.g. 1.0.2-r1)" % text)
    if field in ("provider-priority", "build-time", "layer"):
        if not text.isdigit():
            raise Invalid("%s %r is not a number" % (field, text))
        return db.int(int(text))
    if field in ("hashes", "repo-commit", "tags", "installed-size", "file-size"):
        raise Invalid("info field %r is not supported here" % field)
    return db.blob(text.encode())


def build_time(mtime):
    """apk_get_build_time: SOURCE_DATE_EPOCH, when set, replaces every mtime."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(epoch) if epoch else int(mtime)


def mkpkg(info, scripts, files_dir):
    """The uncompressed package: file header, ADB block, one DATA block per file."""
    # apk mkpkg defaults arch to the build host's; a cross-built package must name its own.
    for required in ("name", "version", "arch"):
        if required not in info:
            raise Invalid("required info field '%s' not provided" % required)
    db = AdbWriter()
    pkginfo = [NULL] * (len(PI_FIELDS) - 1)
    for i, field in enumerate(PI_FIELDS):
        if field in info:
            pkginfo[i - 1] = info_value(db, field, info[field])

    # Directories: the root first, then every directory below it in strcmp order; in
    # each, its files in strcmp order (apk_dir_foreach_file_sorted).
    dirs = []
    if files_dir:
        for top, subdirs, _ in os.walk(files_dir):
            subdirs.sort()
            dirs.append(os.path.relpath(top, files_dir))
        dirs = ["."] + sorted(d for d in dirs if d != ".")
    installed_size = 0
    paths = []  # (name bytes, dir value, [(file name bytes, file value, path, size)])
    for rel in dirs:
        top = os.path.join(files_dir, rel)
        files = []
        for entry in sorted(os.listdir(top)):
            path = os.path.join(top, entry)
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                continue
            fields = [NULL] * 6
            fields[FI_NAME - 1] = db.blob(entry.encode())
            if stat.S_ISREG(st.st_mode):
                if st.st_nlink > 1:
                    raise Invalid("%s: hard links are not supported" % path)
                with open(path, "rb") as f:
                    fields[FI_HASHES - 1] = db.blob(hashlib.sha256(f.read()).digest())
                installed_size += st.st_size
            elif stat.S_ISLNK(st.st_mode):
                target = struct.pack("<H", stat.S_IFLNK) + os.readlink(path).encode()
                fields[FI_TARGET - 1] = db.blob(target)
            else:
                raise Invalid("%s: only files, directories and symlinks" % path)
            fields[FI_MTIME - 1] = db.int(build_time(st.st_mtime))
            fields[FI_SIZE - 1] = db.int(st.st_size)
            fields[FI_ACL - 1] = acl(db, st.st_mode)
            files.append((entry.encode(), db.obj(fields), path,
                          st.st_size if stat.S_ISREG(st.st_mode) else 0))
        files.sort(key=lambda f: f[0])
        name = b"" if rel == "." else rel.encode()
        fields = [db.blob(name), acl(db, os.lstat(top).st_mode), db.obj([f[1] for f in files])]
        paths.append((name, db.obj(fields), files))
    if files_dir and not installed_size:
        installed_size = 1
    if scripts and not installed_size:
        installed_size = 1
    pkginfo[PI["installed-size"] - 1] = db.int(installed_size)
    # The unique id: the first 20 bytes of the SHA-256 of the whole ADB block, computed
    # with the id zeroed, then written in place (never de-duplicated).
    pkginfo[PI["hashes"] - 1] = uid = db.blob(bytes(20), cached=False)

    package = [NULL] * 5
    package[PKG_INFO - 1] = db.obj(pkginfo)
    paths.sort(key=lambda p: p[0])
    package[PKG_PATHS - 1] = db.obj([p[1] for p in paths])
    if scripts:
        package[PKG_SCRIPTS - 1] = db.obj(
            [db.blob(scripts.get(name, b"")) for name in SCRIPT_FIELDS[1:]])
    root = db.obj(package)
    struct.pack_into("<I", db.buf, 4, root)
    uid_offset = (uid & VALUE_MASK) + 1
    db.buf[uid_offset:uid_offset + 20] = hashlib.sha256(db.buf).digest()[:20]

    out = bytearray(b"ADB." + SCHEMA_PACKAGE)
    out += block(BLOCK_ADB, bytes(db.buf))
    for i, (_, _, files) in enumerate(paths, 1):
        for j, (_, _, path, size) in enumerate(files, 1):
            if size:
                with open(path, "rb") as f:
                    out += block(BLOCK_DATA, struct.pack("<II", i, j) + f.read())
    return bytes(out)


def acl(db, mode):
    return db.obj([db.int(mode & 0o7777), db.blob(b"root"), db.blob(b"root")])


def block(kind, payload):
    size = 4 + len(payload)
    if size > 0x3FFFFFFF:
        raise Invalid("block over 1 GiB")
    return struct.pack("<I", (kind << 30) + size) + payload + bytes(-size % 8)


def compress(raw, zopfli):
    """'ADBd' and a raw deflate stream of the rest: zlib level 9 as apk mkpkg writes it,
    or, with zopfli, pigz -11's deflate stream taken out of its gzip wrapper."""
    if not zopfli:
        c = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
        return b"ADBd" + c.compress(raw) + c.flush()
    gz = subprocess.run(["pigz", "-n", "-11", "-c"], input=raw, stdout=subprocess.PIPE,
                        check=True).stdout
    # gzip: 10-byte header (no name, comment or extra field with -n), deflate, CRC, size
    if gz[:3] != b"\x1f\x8b\x08" or gz[3] != 0:
        raise Invalid("pigz wrote an unexpected gzip header")
    return b"ADBd" + gz[10:-8]


# ---------------------------------------------------------------------------------------
# Reader (shares nothing with the writer above)


class AdbReader:
    def __init__(self, adb):
        self.adb = adb
        if len(adb) < 8 or adb[0] != 0:
            raise Invalid("ADB header: compat version %d" % (adb[0] if adb else -1))

    def root(self):
        return struct.unpack_from("<I", self.adb, 4)[0]

    def _at(self, v, size):
        off = v & VALUE_MASK
        if off + size > len(self.adb):
            raise Invalid("value 0x%08x points past the ADB block" % v)
        return off

    def int(self, v):
        kind = kind_of(v)
        if kind == T_SPECIAL and v == NULL:
            return None
        if kind == T_INT:
            return v & VALUE_MASK
        if kind == T_INT32:
            return struct.unpack_from("<I", self.adb, self._at(v, 4))[0]
        if kind == T_INT64:
            return struct.unpack_from("<Q", self.adb, self._at(v, 8))[0]
        raise Invalid("value 0x%08x is not an integer" % v)

    def blob(self, v):
        kind = kind_of(v)
        if v == NULL:
            return None
        width = {T_BLOB8: 1, T_BLOB16: 2, T_BLOB32: 4}.get(kind)
        if width is None:
            raise Invalid("value 0x%08x is not a blob" % v)
        off = self._at(v, width)
        n = int.from_bytes(self.adb[off:off + width], "little")
        self._at(v, width + n)
        return bytes(self.adb[off + width:off + width + n])

    def obj(self, v):
        """The values at indexes 1..n-1 of an object or array (empty for NULL)."""
        if v == NULL:
            return []
        if kind_of(v) not in (T_OBJECT, T_ARRAY):
            raise Invalid("value 0x%08x is not an object" % v)
        off = self._at(v, 4)
        n = struct.unpack_from("<I", self.adb, off)[0]
        self._at(v, 4 * n)
        return list(struct.unpack_from("<%dI" % n, self.adb, off)[1:])

    def field(self, fields, i):
        return fields[i - 1] if i <= len(fields) else NULL

    def text(self, v):
        b = self.blob(v)
        return None if b is None else b.decode()


def inflate(data):
    if data[:4] == b"ADB.":
        return data
    if data[:4] == b"ADBd":
        d = zlib.decompressobj(-15)
        raw = d.decompress(data[4:]) + d.flush()
        if not d.eof or d.unused_data:
            raise Invalid("deflate stream truncated or followed by junk")
        return raw
    raise Invalid("not an ADB file (magic %r)" % data[:4])


def read_package(data):
    """A package as plain data: every field, every file, the blocks and their hashes, and
    the contents of each data block ("body")."""
    raw = inflate(data)
    if raw[:4] != b"ADB.":
        raise Invalid("no ADB file header after decompression")
    if raw[4:8] != SCHEMA_PACKAGE:
        raise Invalid("schema %r, want 'pckg'" % raw[4:8])
    blocks, pos = [], 8
    while pos < len(raw):
        if len(raw) - pos < 4:
            raise Invalid("truncated block header at %d" % pos)
        word = struct.unpack_from("<I", raw, pos)[0]
        kind, size, head = word >> 30, word & 0x3FFFFFFF, 4
        if kind == BLOCK_EXT:
            kind, size, head = word & 0x3FFFFFFF, struct.unpack_from("<Q", raw, pos + 8)[0], 16
        if size < head or pos + size + (-size % 8) > len(raw):
            raise Invalid("block at %d: size %d does not fit" % (pos, size))
        if any(raw[pos + size:pos + size + (-size % 8)]):
            raise Invalid("block at %d: padding is not zero" % pos)
        blocks.append((kind, raw[pos + head:pos + size]))
        pos += size + (-size % 8)
    kinds = [k for k, _ in blocks]
    if not kinds or kinds[0] != BLOCK_ADB or BLOCK_ADB in kinds[1:]:
        raise Invalid("blocks %s: want one ADB block first" % kinds)
    first_data = kinds.index(BLOCK_DATA) if BLOCK_DATA in kinds else len(kinds)
    if any(k != BLOCK_DATA for k in kinds[first_data:]) or any(
            k not in (BLOCK_SIG,) for k in kinds[1:first_data]):
        raise Invalid("blocks %s: want ADB, signatures, then data" % kinds)

    adb = blocks[0][1]
    r = AdbReader(adb)
    pkg = r.obj(r.root())
    info_v = r.obj(r.field(pkg, PKG_INFO))
    info = {}
    for i, name in enumerate(PI_FIELDS):
        if not name or i > len(info_v) or r.field(info_v, i) == NULL:
            continue
        v = r.field(info_v, i)
        if name in ("depends", "provides", "replaces", "install-if", "recommends"):
            info[name] = [dependency(r, d) for d in r.obj(v)]
        elif name in ("installed-size", "file-size", "build-time", "provider-priority",
                      "layer"):
            info[name] = r.int(v)
        elif name in ("hashes", "repo-commit"):
            info[name] = r.blob(v).hex()
        elif name == "tags":
            info[name] = [r.text(t) for t in r.obj(v)]
        else:
            info[name] = r.text(v)
    zeroed = bytearray(adb)
    uid_v = r.field(info_v, PI["hashes"])
    uid_off = (uid_v & VALUE_MASK) + 1
    zeroed[uid_off:uid_off + 20] = bytes(20)

    paths = []
    for d in r.obj(r.field(pkg, PKG_PATHS)):
        dv = r.obj(d)
        files = []
        for f in r.obj(r.field(dv, DI_FILES)):
            fv = r.obj(f)
            target = r.blob(r.field(fv, FI_TARGET))
            files.append({
                "name": r.text(r.field(fv, FI_NAME)),
                "acl": acl_of(r, r.field(fv, FI_ACL)),
                "size": r.int(r.field(fv, FI_SIZE)) or 0,
                "mtime": r.int(r.field(fv, FI_MTIME)),
                "hash": (r.blob(r.field(fv, FI_HASHES)) or b"").hex(),
                "target": None if target is None else target.hex(),
            })
        paths.append({"name": r.text(r.field(dv, DI_NAME)) or "",
                      "acl": acl_of(r, r.field(dv, DI_ACL)), "files": files})
    scripts = {}
    sv = r.obj(r.field(pkg, PKG_SCRIPTS))
    for i, name in enumerate(SCRIPT_FIELDS):
        if name and i <= len(sv) and sv[i - 1] != NULL:
            scripts[name] = r.text(sv[i - 1])

    contents = []
    for kind, payload in blocks[1:]:
        if kind == BLOCK_DATA:
            path_idx, file_idx = struct.unpack_from("<II", payload, 0)
            body = payload[8:]
            contents.append({"path_idx": path_idx, "file_idx": file_idx, "size": len(body),
                             "sha256": hashlib.sha256(body).hexdigest(), "body": body})
    return {
        "compressed": data[:4] == b"ADBd",
        "blocks": [{BLOCK_ADB: "adb", BLOCK_SIG: "sig", BLOCK_DATA: "data"}[k]
                   for k in kinds],
        "adb_sha256": hashlib.sha256(adb).hexdigest(),
        "uid_expected": hashlib.sha256(zeroed).digest()[:20].hex(),
        "info": info,
        "paths": paths,
        "scripts": scripts,
        "data": contents,
    }


def dependency(r, v):
    fields = r.obj(v)
    name = r.text(r.field(fields, DEP_NAME))
    version = r.text(r.field(fields, DEP_VERSION))
    match = r.int(r.field(fields, DEP_MATCH))
    if version is None and not (match or 0) & V_CONFLICT:
        return name
    op = match or V_EQUAL
    ops = "".join(c for c, bit in (("<", V_LESS), (">", V_GREATER), ("=", V_EQUAL))
                  if op & bit) if not op & V_FUZZY else "~"
    return ("!" if op & V_CONFLICT else "") + name + (ops + version if version else "")


def acl_of(r, v):
    fields = r.obj(v)
    return {"mode": "%04o" % (r.int(r.field(fields, ACL_MODE)) or 0),
            "user": r.text(r.field(fields, ACL_USER)),
            "group": r.text(r.field(fields, ACL_GROUP))}


# ---------------------------------------------------------------------------------------


def split_pair(arg, what):
    key, sep, value = arg.partition(":")
    if not sep:
        raise Invalid("%s %r: want KEY:VALUE" % (what, arg))
    return key, value


def main(argv):
    parser = argparse.ArgumentParser(prog="adb.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("mkpkg", help="write a package, with apk mkpkg's arguments")
    mk.add_argument("--info", "-I", action="append", default=[])
    mk.add_argument("--script", "-s", action="append", default=[])
    mk.add_argument("--files", "-F")
    mk.add_argument("--output", "-o", required=True)
    mk.add_argument("--zopfli", action="store_true",
                    help="compress with pigz -11 (zopfli) instead of zlib -9")
    dump = sub.add_parser("dump", help="print a package as JSON")
    dump.add_argument("file")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "dump":
            with open(args.file, "rb") as f:
                package = read_package(f.read())
            for d in package["data"]:
                del d["body"]
            json.dump(package, sys.stdout, indent=1, sort_keys=True)
            print()
            return 0
        info = {}
        for arg in args.info:
            key, value = split_pair(arg, "--info")
            if key not in PI or key in ("hashes", "installed-size", "file-size"):
                raise Invalid("invalid info field: %s" % key)
            info[key] = value
        scripts = {}
        for arg in args.script:
            kind, path = split_pair(arg, "--script")
            if kind not in SCRIPT:
                raise Invalid("invalid script type: %s" % kind)
            with open(path, "rb") as f:
                scripts[kind] = f.read()
        raw = mkpkg(info, scripts, args.files)
        with open(args.output, "wb") as f:
            f.write(compress(raw, args.zopfli))
        return 0
    except (Invalid, OSError, subprocess.CalledProcessError) as e:
        print("adb.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
