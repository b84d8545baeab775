#!/usr/bin/env python3
"""Check that no C function is longer than 80 lines (STYLE.md, issue 10).

The source is kernel style: a function's body opens with a '{' alone at
the start of a line and closes with a '}' at the start of a line. What is
counted is the body, the lines between those two braces. bench/ and
tests/ are not checked (benchmark and test drivers read top to bottom).

Usage: funclen.py [--max N] [DIR...]   (default: bpf loader rules-compiler
       maps include selftests)
Prints "funclen: N functions, none over MAX lines" or each longer one as
"FILE:LINE: NAME is L lines", and exits 0 or 1.
"""
import os
import re
import sys

DIRS = ['bpf', 'loader', 'rules-compiler', 'maps', 'include', 'selftests']
NAME = re.compile(r'([A-Za-z_]\w*)\s*\(')


def functions(path):
    """(name, first body line, body lines) of each function in path."""
    with open(path, errors='replace') as f:
        lines = f.read().split('\n')
    out, start, name = [], None, None
    for i, line in enumerate(lines):
        if start is None and line.rstrip() == '{':
            # the name: the last identifier before '(' in the lines above
            head = ' '.join(lines[max(0, i - 4):i])
            m = NAME.findall(head.split('=')[0])
            start, name = i, m[-1] if m else '?'
        elif start is not None and line.startswith('}'):
            out.append((name, start + 1, i - start - 1))
            start = None
    return out


def main(argv):
    limit = 80
    if argv[:1] == ['--max']:
        limit, argv = int(argv[1]), argv[2:]
    bad, n = [], 0
    for d in argv or DIRS:
        for root, _, files in sorted(os.walk(d)):
            for fn in sorted(files):
                if not fn.endswith(('.c', '.h')):
                    continue
                p = os.path.join(root, fn)
                for name, line, length in functions(p):
                    n += 1
                    if length > limit:
                        bad.append(f'{p}:{line}: {name} is {length} lines')
    for b in bad:
        print(b)
    if bad:
        print(f'funclen: {len(bad)} of {n} functions over {limit} lines')
        return 1
    print(f'funclen: {n} functions, none over {limit} lines')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
