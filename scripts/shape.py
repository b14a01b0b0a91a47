#!/usr/bin/env python3
"""The shape checks of issue 17 on src/, outside test code: no import cycle between
modules (files), nor between subsystems (the modules under src/), and no function longer
than MAX_FN_LINES lines. Exit 1 with what breaks them; `-v` also prints the longest
functions and the subsystem graph. Another source tree may be named (`scripts/shape.py
-v DIR`). Run by `make test` (scripts/test.sh)."""

import os
import re
import sys

ARGS = [a for a in sys.argv[1:] if a != "-v"]
SRC = ARGS[0] if ARGS else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
MAX_FN_LINES = 100


def module_of(path):
    """src/a/b.rs -> ('a', 'b'); src/a/mod.rs -> ('a',); src/lib.rs -> ()."""
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod" or rel == ["lib"] or rel == ["main"]:
        rel = rel[:-1]
    return tuple(rel)


def strip_literals(line):
    """The line without string and char literals and without its `//` comment."""
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(?:\\.|[^'\\])'", "' '", line)
    return line.split("//", 1)[0]


def non_test_lines(text):
    """The file's lines with `#[cfg(test)]` items blanked (kept as empty lines)."""
    lines = text.split("\n")
    out = []
    skip_from = None
    depth = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if skip_from is None and line.strip() == "#[cfg(test)]":
            skip_from = i
            depth = 0
            opened = False
            while i < len(lines):
                code = strip_literals(lines[i])
                depth += code.count("{") - code.count("}")
                opened = opened or "{" in code
                out.append("")
                i += 1
                if (opened and depth == 0) or (not opened and code.rstrip().endswith(";")):
                    break
            skip_from = None
            continue
        out.append(line)
        i += 1
    return out


def files():
    for root, _, names in os.walk(SRC):
        for n in sorted(names):
            if n.endswith(".rs"):
                yield os.path.join(root, n)


def test_only_files():
    """Files declared as `#[cfg(test)] mod x;` (e.g. history/tests.rs)."""
    out = set()
    for f in files():
        text = open(f).read()
        for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod (\w+);", text):
            base = os.path.dirname(f) if os.path.basename(f) in ("mod.rs", "lib.rs") else f[:-3]
            for cand in (os.path.join(base, m.group(1) + ".rs"), os.path.join(base, m.group(1), "mod.rs")):
                out.add(os.path.normpath(cand))
    return out


def expand(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^([^{]*)\{(.*)\}$", tree)
    if not m:
        return [tree]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    return [prefix + p2 for p in parts if p for p2 in expand(p)]


def references(mod, lines):
    """Absolute paths (tuples) this module's non-test code names."""
    code = "\n".join(strip_literals(l) for l in lines)
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        paths.extend(expand(m.group(1)))
    paths.extend(m.group(0) for m in re.finditer(r"\b(?:crate|super)(?:::\w+)+", code))
    out = []
    for p in paths:
        p = re.sub(r"\bas\s*\w+$|as\w+$", "", p) if " as " in p else p
        segs = [s for s in p.split("::") if s]
        if not segs:
            continue
        if segs[0] == "crate":
            out.append(tuple(segs[1:]))
        elif segs[0] == "super":
            base = list(mod)
            while segs and segs[0] == "super":
                base = base[:-1]
                segs = segs[1:]
            out.append(tuple(base + segs))
        elif segs[0] == "self":
            out.append(tuple(list(mod) + segs[1:]))
    return out


def aliases(modules):
    """`pub use shell::{engine, probe};` in health/mod.rs: health::engine is health::shell::engine."""
    out = {}
    for f, mod in modules.items():
        text = open(f).read()
        for m in re.finditer(r"pub use\s+([^;]+);", text):
            for p in expand(m.group(1)):
                segs = p.split("::")
                if segs[0] in ("crate", "super", "self"):
                    continue
                target = tuple(list(mod) + segs)
                if target in modules.values():
                    out[tuple(list(mod) + segs[-1:])] = target
    return out


def resolve(path, known, alias):
    for n in range(len(path), 0, -1):
        p = path[:n]
        p = alias.get(p, p)
        if p in known:
            return p
    return None


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def long_functions(f, lines):
    out = []
    fn = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")
    for i, line in enumerate(lines):
        m = fn.match(line)
        if not m:
            continue
        depth, opened = 0, False
        for j in range(i, len(lines)):
            code = strip_literals(lines[j])
            if not opened and ";" in code and "{" not in code:
                break  # a declaration without a body
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth == 0:
                out.append((j - i + 1, f"{os.path.relpath(f, SRC)}:{i + 1}", m.group(1)))
                break
    return out


def main():
    verbose = "-v" in sys.argv
    tests = test_only_files()
    modules = {f: module_of(f) for f in files() if os.path.normpath(f) not in tests}
    known = set(modules.values())
    alias = aliases(modules)
    graph, top = {}, {}
    fns = []
    for f, mod in modules.items():
        lines = non_test_lines(open(f).read())
        fns.extend(long_functions(f, lines))
        for ref in references(mod, lines):
            dep = resolve(ref, known, alias)
            if dep is None or dep == mod:
                continue
            # A module and its ancestors (declaration, re-export) are one unit.
            if dep == mod[: len(dep)] or mod == dep[: len(mod)]:
                continue
            graph.setdefault(mod, set()).add(dep)
            if mod and dep and mod[0] != dep[0]:
                top.setdefault(mod[0], set()).add(dep[0])
    failed = False
    for c in cycles(graph):
        failed = True
        print("import cycle between modules: " + ", ".join("::".join(m) for m in c))
    for c in cycles(top):
        failed = True
        print("import cycle between subsystems: " + ", ".join(c))
    fns.sort(reverse=True)
    for n, where, name in fns:
        if n > MAX_FN_LINES:
            failed = True
            print(f"{where}: fn {name} is {n} lines (at most {MAX_FN_LINES})")
    if verbose:
        print("longest functions:")
        for n, where, name in fns[:10]:
            print(f"  {n:4} {where} {name}")
        print("subsystems and what they use:")
        for m in sorted(top):
            print(f"  {m} -> {', '.join(sorted(top[m]))}")
    if not failed:
        print(f"shape: no import cycle in {len(modules)} modules, no function over {MAX_FN_LINES} lines")
    sys.exit(1 if failed else 0)


main()
