#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Inclusive time under one function, as a call tree, from a perf profile.

    perf script -i perf.data -F ip,sym | bench/perf-tree.py ROOT [DEPTH] [MIN%]

Every sample whose stack holds ROOT counts for the callees below it (down
to DEPTH levels); a line is the share of ALL samples of the run spent in
that call path, shown when at least MIN% (default 0.5). Made for the
replay profiles in bench/profile/ (perf record --call-graph dwarf: the
build has no frame pointers).
"""
import sys


def stacks(lines):
    cur = []
    for line in lines:
        if not line.strip() or line[0] not in ' \t':
            if cur:
                yield cur
            cur = []
            continue
        parts = line.split(None, 1)
        if len(parts) == 2:
            cur.append(parts[1].split(' (')[0].split('+0x')[0].strip())
    if cur:
        yield cur


def main():
    root = sys.argv[1]
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    minpct = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
    tree, total, under = {}, 0, 0
    for st in stacks(sys.stdin):
        total += 1
        st = st[::-1]	# outermost first
        if root not in st:
            continue
        under += 1
        node = tree
        for sym in st[st.index(root) + 1:st.index(root) + 1 + depth]:
            node = node.setdefault(sym, [0, {}])
            node[0] += 1
            node = node[1]
    total = total or 1
    print(f"# {under} of {total} samples ({100.0 * under / total:.1f}%) under {root}; "
          "% of all samples")

    def show(node, ind):
        for sym, (n, sub) in sorted(node.items(), key=lambda x: -x[1][0]):
            if 100.0 * n / total >= minpct:
                print(f"{'  ' * ind}{100.0 * n / total:6.2f}%  {sym}")
                show(sub, ind + 1)
    show(tree, 0)


if __name__ == '__main__':
    main()
