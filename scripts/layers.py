#!/usr/bin/env python3
"""Check that the rules compiler's files form layers (issue 10): no circle
of calls between its object files, and none of includes between its
headers. A circle is printed as "a -> b -> a" and fails the check.

Usage: layers.py BUILD_DIR      (objects in BUILD_DIR/obj/rules-compiler/)
Prints "layers: N files, no circle" or the circles, and exits 0 or 1.
"""
import glob
import os
import re
import subprocess
import sys


def call_graph(objdir):
    """file -> files whose functions or data it uses (from nm)."""
    defs, uses = {}, {}
    for o in sorted(glob.glob(os.path.join(objdir, '*.o'))):
        name = os.path.basename(o)[:-2] + '.c'
        out = subprocess.run(['nm', o], capture_output=True, text=True,
                             check=True).stdout
        uses[name] = set()
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in 'TDBR':
                defs[f[2]] = name
            elif len(f) == 2 and f[0] == 'U':
                uses[name].add(f[1])
    return {n: {defs[s] for s in u if s in defs and defs[s] != n}
            for n, u in uses.items()}


def include_graph(srcdir):
    g = {}
    for h in sorted(glob.glob(os.path.join(srcdir, '*.h'))):
        text = open(h).read()
        g[os.path.basename(h)] = set(re.findall(r'#include "([^"/]+\.h)"', text))
    return g


def circles(g):
    """One circle per strongly connected component of more than one node."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
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
                out.append(path_in(g, sorted(comp)))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def path_in(g, comp):
    """A closed walk a -> ... -> a inside one component, for the message."""
    start, seen, path = comp[0], set(), [comp[0]]
    v = start
    while True:
        nxt = sorted(w for w in g[v] if w in comp)
        w = start if start in nxt and len(path) > 1 else \
            next((x for x in nxt if x not in seen), nxt[0])
        path.append(w)
        if w == start or w in seen:
            return path
        seen.add(w)
        v = w


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else 'build'
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
    calls = call_graph(os.path.join(build, 'obj', 'rules-compiler'))
    incs = include_graph(os.path.join(root, 'rules-compiler'))
    if not calls:
        print('layers: no objects in %s/obj/rules-compiler' % build)
        return 1
    bad = [('calls', c) for c in circles(calls)] + \
          [('includes', c) for c in circles(incs)]
    for kind, c in bad:
        print('layers: circle of %s: %s' % (kind, ' -> '.join(c)))
    if not bad:
        print('layers: %d files, no circle' % len(calls))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
