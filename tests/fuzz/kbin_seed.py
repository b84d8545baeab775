#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Convert a .kbin (kload compile -o) into the compact input of
tests/fuzz/fuzz_kbin.c: flags, the nonzero runs of the tables as
patches, then the rule metadata. The tables are the bytes the .kbin
stores (format KSKBIN03: its tables_size, the struct up to the last DFA
cell); fuzz_kbin cuts them where the patched header says they end.

    kbin_seed.py IN.kbin OUT
"""
import struct
import sys

HDR = 64


def runs(tab):
    """Nonzero runs of tab, gaps under 8 zero bytes merged."""
    i, n = 0, len(tab)
    while i < n:
        if not tab[i]:
            i += 1
            continue
        j = i
        while j < n:
            k = j
            while k < n and tab[k]:
                k += 1
            z = k
            while z < n and not tab[z] and z - k < 8:
                z += 1
            if z == n or not tab[z]:
                j = k
                break
            j = z
        yield i, tab[i:j]
        i = j


def tables(data):
    """The tables a .kbin's extents describe (zeros between them), as many
    bytes as its header's tables_size."""
    tables_size, meta_size = struct.unpack_from('<QQ', data, 16)
    n_ext, ext_size = struct.unpack_from('<II', data, 52)
    tab = bytearray(tables_size)
    at = HDR
    for _ in range(n_ext):
        off, n = struct.unpack_from('<II', data, at)
        tab[off:off + n] = data[at + 8:at + 8 + n]
        at += 8 + n
    return bytes(tab), data[HDR + ext_size:HDR + ext_size + meta_size]


def main():
    data = open(sys.argv[1], 'rb').read()
    tab, meta = tables(data)
    patches = []
    for off, run in runs(tab):
        for k in range(0, len(run), 255):
            chunk = run[k:k + 255]
            patches.append(struct.pack('<I', off + k)[:3] +
                           bytes([len(chunk)]) + chunk)
    out = bytes([1]) + struct.pack('<H', len(patches)) + b''.join(patches) + meta
    open(sys.argv[2], 'wb').write(out)


if __name__ == '__main__':
    main()
