#!/usr/bin/env python3
"""Prints the file-level import graph of src/ and fails on a circle.

Every `use crate::…` / `use super::…` / `use self::…` item and every inline `crate::a::b` path
outside `#[cfg(test)]` modules is resolved to the file that *defines* the named item, following
`pub use` re-exports, so a `mod.rs` or `lib.rs` that only re-exports is not a hub. An edge
A -> B means "A names something defined in B". Usage: python3 .ci/import-graph.py [--edges]
"""
import os, re, sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
SRC = os.path.normpath(SRC)

def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)

files = {}
for root, _, names in os.walk(SRC):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(root, n)
            files[module_of(p)] = p

def strip_tests(text):
    # Drop `#[cfg(test)] mod … { … }` blocks and `#[cfg(test)]` single items, and comments.
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*", text[i:])
        if not m:
            out.append(text[i:]); break
        s = i + m.start(); e = i + m.end()
        out.append(text[i:s])
        # skip the next item: up to its matching brace or semicolon
        j, depth = e, 0
        while j < len(text):
            c = text[j]
            if c == "{": depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0: j += 1; break
            elif c == ";" and depth == 0: j += 1; break
            j += 1
        i = j
    return "".join(out)

def use_trees(text):
    """Yields (is_pub, [path segments]) for every leaf of every `use` declaration."""
    for m in re.finditer(r"(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
        is_pub = m.group(1) is not None
        for leaf in expand(m.group(2).replace("\n", " ").replace(" ", "")):
            yield is_pub, leaf

def expand(tree):
    # split "a::{b,c::{d,e}}" into leaves
    depth = 0
    for i, c in enumerate(tree):
        if c == "{":
            prefix = tree[:i]
            inner = tree[i + 1:tree.rindex("}")]
            parts, d, cur = [], 0, ""
            for ch in inner:
                if ch == "," and d == 0:
                    parts.append(cur); cur = ""
                    continue
                if ch == "{": d += 1
                if ch == "}": d -= 1
                cur += ch
            parts.append(cur)
            res = []
            for p in parts:
                if p:
                    res += expand(prefix + p)
            return res
    leaf = re.sub(r"\bas\b.*", "", tree).strip(":")
    return [leaf.split("::")]

texts = {mod: strip_tests(open(p).read()) for mod, p in files.items()}

def absolute(mod, segs):
    if not segs: return None
    if segs[0] == "crate": return list(segs[1:])
    if segs[0] == "super":
        base = list(mod)
        while segs and segs[0] == "super":
            base = base[:-1]; segs = segs[1:]
        return base + list(segs)
    if segs[0] == "self": return list(mod) + list(segs[1:])
    if tuple(mod) + (segs[0],) in files: return list(mod) + list(segs)
    return None

# re-exports: (module, name) -> absolute path
reexports = {}
for mod, text in texts.items():
    for is_pub, segs in use_trees(text):
        a = absolute(mod, segs)
        if a and is_pub and a:
            reexports[(mod, a[-1] if a[-1] != "self" else a[-2])] = a[:-1] if a[-1] == "self" else a

def defining_file(path, seen=None):
    """The module (a key of files) that defines the item at absolute `path`."""
    seen = seen or set()
    path = [p for p in path if p != "self"]
    # longest prefix that is a module
    for k in range(len(path), -1, -1):
        m = tuple(path[:k])
        if m in files:
            rest = path[k:]
            if not rest:
                return m
            key = (m, rest[0])
            if key in reexports and key not in seen:
                seen.add(key)
                return defining_file(reexports[key] + rest[1:], seen)
            return m
    return None

edges = {}
for mod, text in texts.items():
    deps = set()
    for _, segs in use_trees(text):
        a = absolute(mod, segs)
        if a is not None:
            d = defining_file(a)
            if d is not None: deps.add(d)
    for m in re.finditer(r"\b(crate(?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
        d = defining_file(m.group(1).split("::")[1:])
        if d is not None: deps.add(d)
    for m in re.finditer(r"(?<![:\w])((?:super::)+[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)", text):
        a = absolute(mod, m.group(1).split("::"))
        d = defining_file(a)
        if d is not None: deps.add(d)
    deps.discard(mod)
    # a module's own children are below it; `mod x;` declarations are not edges
    edges[mod] = deps

name = lambda m: os.path.relpath(files[m], SRC)
if "--edges" in sys.argv:
    for m in sorted(edges, key=name):
        print(f"{name(m)} -> {', '.join(sorted(name(d) for d in edges[m]))}")

# strongly connected components (Tarjan)
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(comp)
sys.setrecursionlimit(10000)
for v in edges:
    if v not in index: strong(v)
print(f"{len(files)} files, {sum(len(e) for e in edges.values())} edges")
if sccs:
    for c in sccs:
        print("circle:", " <-> ".join(sorted(name(m) for m in c)))
    sys.exit(1)
print("no import circle")
