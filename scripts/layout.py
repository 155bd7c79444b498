#!/usr/bin/env python3
"""The gateway's module graph: figures, and the layout's rules.

    python3 scripts/layout.py [--check] [--graph] [SRC_DIR]   (default gateway/src)

Prints files, lines, the largest file, import edges between files, the
longest import chain and every import circle. With --check (what `make test`
runs) it exits 1 when a rule is broken:

  - no import circles between files;
  - nothing imports the crate root (lib.rs holds entry points only);
  - a journey imports another journey only through that journey's named
    interface (INTERFACES below);
  - an adapter never imports a journey; a foundation module never imports
    an adapter or a journey.

An import is any `crate::…`, `super::…` or `self::…` path outside the test
module at a file's end, resolved to the deepest file module it names.
"""

import os
import re
import sys

JOURNEYS = {"launch", "visit", "patient", "notify", "admin", "reports"}
ADAPTERS = {"ehr", "sms", "email", "video"}
# Where one journey may reach into another.
INTERFACES = {"visit::client", "visit::pass", "reports::events", "reports::query", "reports::retention", "visit::tracking"}
# The top: routes to every journey; nothing imports it.
TOP = {"router"}


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return "::".join(rel)


def strip(text):
    # Drop the unit tests (by convention the file's last item) and comments.
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod tests", text, re.M)
    if m:
        text = text[: m.start()]
    text = re.sub(r'r#"(.|\n)*?"#', '""', text)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def expand(tree):
    """`a::{b, c::{d, e}}` → ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.strip()
    depth = 0
    for i, ch in enumerate(tree):
        if ch == "{" and depth == 0:
            prefix = tree[:i]
            inner = tree[i + 1 : tree.rindex("}")]
            parts, depth2, start = [], 0, 0
            for j, c in enumerate(inner):
                if c == "{":
                    depth2 += 1
                elif c == "}":
                    depth2 -= 1
                elif c == "," and depth2 == 0:
                    parts.append(inner[start:j])
                    start = j + 1
            parts.append(inner[start:])
            return [p for part in parts if part.strip() for p in expand(prefix + part.strip())]
    return [re.sub(r"\s+as\s+\w+$", "", tree)]


def paths_in(code):
    out = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        tree = re.sub(r"\s*([{},]|::)\s*", r"\1", re.sub(r"\s+", " ", m.group(1)))
        out.extend(expand(tree))
    body = re.sub(r"\buse\s+[^;]+;", "", code)
    out.extend(m.group(0) for m in re.finditer(r"(?<![:\w])\w+(?:::\w+)+", body))
    return out


def resolve(mod, path, modules):
    parts = path.split("::")
    here = mod.split("::") if mod else []
    if parts[0] == "crate":
        base, rest = [], parts[1:]
    elif parts[0] in ("super", "self"):
        base = list(here)
        rest = parts
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    elif mod_child(mod, parts[0], modules):
        # A child module named without `self::` (`use deliver::X` in visit/mod.rs).
        base, rest = list(here), parts
    else:
        return None
    full = base + rest
    for n in range(len(full), -1, -1):
        cand = "::".join(full[:n])
        if cand in modules:
            # `crate::Item` resolves to the root: an import of lib.rs.
            return cand
    return None


def mod_child(mod, name, modules):
    return (f"{mod}::{name}" if mod else name) in modules


def load(src):
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(root, n)
                files[module_of(src, p)] = p
    return files


def graph(src):
    files = load(src)
    edges = {m: set() for m in files}
    for mod, path in files.items():
        with open(path) as f:
            code = strip(f.read())
        for p in paths_in(code):
            target = resolve(mod, p, files)
            if target is None or target == mod:
                continue
            edges[mod].add(target)
    return files, edges


def sccs(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
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

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def longest_chain(edges):
    memo = {}

    def depth(v, seen):
        if v in memo:
            return memo[v]
        if v in seen:
            return 0
        seen = seen | {v}
        d = 1 + max((depth(w, seen) for w in edges[v]), default=0)
        memo[v] = d
        return d

    return max((depth(v, frozenset()) for v in edges), default=0)


def top(mod):
    return mod.split("::")[0] if mod else ""


def kind(mod):
    t = top(mod)
    if mod == "":
        return "root"
    if t in TOP:
        return "top"
    if t in JOURNEYS:
        return "journey"
    if t in ADAPTERS:
        return "adapter"
    return "foundation"


def interface_of(target):
    for i in INTERFACES:
        if target == i or target.startswith(i + "::"):
            return i
    return None


def violations(edges):
    out = []
    for src, targets in sorted(edges.items()):
        for t in sorted(targets):
            ks, kt = kind(src), kind(t)
            if kt == "root":
                out.append(f"{src or 'lib'} imports the crate root (lib.rs): move what it needs out of lib.rs")
            elif kt == "top" and ks != "root":
                out.append(f"{src} imports {t}: only lib.rs uses the router")
            elif ks == "journey" and kt == "journey" and top(src) != top(t) and not interface_of(t):
                out.append(f"journey {src} imports journey {t} outside a named interface ({', '.join(sorted(INTERFACES))})")
            elif ks == "adapter" and kt == "journey":
                out.append(f"adapter {src} imports journey {t}")
            elif ks == "foundation" and kt in ("adapter", "journey"):
                out.append(f"foundation module {src} imports {kt} {t}")
    return out


def main(argv):
    check = "--check" in argv
    show = "--graph" in argv
    args = [a for a in argv if not a.startswith("--")]
    src = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "gateway", "src")
    files, edges = graph(src)
    lines = {m: sum(1 for _ in open(p)) for m, p in files.items()}
    biggest = max(lines, key=lines.get)
    # Imports of lib.rs are counted apart (a rule of their own); the circles
    # are those among the other files.
    root_imports = sum(1 for m, t in edges.items() if m and "" in t)
    inner = {m: {t for t in ts if t} for m, ts in edges.items() if m}
    circles = sccs(inner)
    n_edges = sum(len(t) for t in edges.values())
    print(f"layout {os.path.relpath(src)}: {len(files)} files, {sum(lines.values())} lines, "
          f"largest {os.path.relpath(files[biggest], src)} ({lines[biggest]} lines), "
          f"{n_edges} imports between files, longest chain {longest_chain(inner)}, "
          f"{len(circles)} import circles, {root_imports} files importing lib.rs")
    for c in circles:
        print("  circle: " + " <-> ".join(c))
    if show:
        for m in sorted(edges):
            print(f"  {m or 'lib'} -> {', '.join(sorted(t or 'lib' for t in edges[m]))}")
    if check:
        bad = violations(edges) + [f"import circle: {' <-> '.join(c)}" for c in circles]
        for v in bad:
            print("  rule broken: " + v)
        if bad:
            return 1
        print("  layout rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
