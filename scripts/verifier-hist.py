#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Where the verifier spends its instructions: a BPF_LOG_LEVEL2 log
(log_level 2|4) read line by line, every "N: (op) ..." line one visit of
instruction N, summed per subprogram (the log's "func#K @START" table).

usage: verifier-hist.py LOG [XLATED]
  LOG     the verifier log of one program (bench/profile/attach9-verifier.txt
          says how to get one from kload)
  XLATED  optional `bpftool prog dump xlated` of the loaded program, to name
          the subprograms (its function headers are in the same order)
"""
import bisect
import collections
import re
import sys

INSN = re.compile(r'^(\d+): \(\w\w\)')
HEAD = re.compile(r'^\S.*? \**(\w+)\(.*\):$')


def read_log(path):
    funcs, visits, in_live = [], collections.Counter(), False
    with open(path, errors='replace') as fh:
        for line in fh:
            if line.startswith('func#'):
                funcs.append(int(line.split('@')[1]))
                continue
            if line.startswith('Live regs'):
                in_live = True
                continue
            if in_live and (line.startswith(' ') or not line.strip()):
                continue
            in_live = False
            m = INSN.match(line)
            if m:
                visits[int(m.group(1))] += 1
    return funcs or [0], visits


def names(path, n):
    out = []
    if path:
        with open(path) as fh:
            out = [m.group(1) for m in map(HEAD.match, fh) if m]
    return out + ['?'] * (n - len(out))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    funcs, visits = read_log(sys.argv[1])
    name = names(sys.argv[2] if len(sys.argv) > 2 else None, len(funcs))
    per = collections.Counter()
    for insn, c in visits.items():
        per[bisect.bisect_right(funcs, insn) - 1] += c
    total = sum(visits.values()) or 1
    print(f'{total} instruction visits')
    for k, c in per.most_common(20):
        print(f'{c:8d} {100 * c / total:5.1f}%  func#{k} @{funcs[k]} {name[k]}')


if __name__ == '__main__':
    main()
