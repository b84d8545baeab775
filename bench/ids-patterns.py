#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Realistic IDS content strings for `bench_dfa --patterns-file`.

Reads the Snort-syntax rules of Debian's sagan-rules package (Quadrant
Information Security's Sagan rule set, BSD-3-Clause; /etc/sagan-rules/
*.rules, installed by scripts/deps.sh) and writes every distinct
content:"..." string of 3..64 bytes, one a line, in bench_dfa's format:
\\xHH for a byte outside printable ASCII or a backslash. Snort's |HH HH|
hex blocks and \\" \\; \\\\ escapes are decoded; commented-out rules count
too (they are real content strings all the same).

usage: bench/ids-patterns.py [RULES_DIR] > FILE
"""
import glob
import os
import re
import sys

CONTENT = re.compile(r'content:\s*!?\s*"((?:[^"\\]|\\.)*)"')


def decode(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s):
            out.append(ord(s[i + 1]) & 0xff)
            i += 2
        elif c == '|':
            j = s.find('|', i + 1)
            if j < 0:
                return None
            try:
                out += bytes.fromhex(s[i + 1:j].replace(' ', ''))
            except ValueError:
                return None
            i = j + 1
        else:
            out += c.encode('latin-1', 'replace')
            i += 1
    return bytes(out)


def encode(b):
    return ''.join(chr(x) if 0x20 <= x < 0x7f and x != 0x5c else '\\x%02x' % x
                   for x in b)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else '/etc/sagan-rules'
    files = sorted(glob.glob(os.path.join(d, '*.rules')))
    if not files:
        sys.exit('ids-patterns: no *.rules in %s (apt-get install sagan-rules)' % d)
    seen = set()
    for f in files:
        with open(f, encoding='latin-1') as fh:
            for line in fh:
                for m in CONTENT.finditer(line):
                    b = decode(m.group(1))
                    if b is None or not 3 <= len(b) <= 64 or b.lower() in seen:
                        continue
                    seen.add(b.lower())
                    print(encode(b))


main()
