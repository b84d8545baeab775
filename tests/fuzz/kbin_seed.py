#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Convert a .kbin (kload compile -o) into the compact input of
tests/fuzz/fuzz_kbin.c: flags, the nonzero runs of the tables as
patches, then the rule metadata. The tables are the bytes the .kbin
stores (format KSKBIN04: its tables_size, the struct up to the last DFA
cell); fuzz_kbin cuts them where the patched header says they end.

    kbin_seed.py IN.kbin OUT
    kbin_seed.py --refresh KLOAD SEED...

--refresh recompiles each seed's own rules (its metadata YAML) with the
kload given and rewrites the seed: after a change to the tables' layout
the old seeds no longer load (fuzz.sh --regress says so).
"""
import os
import struct
import subprocess
import sys
import tempfile

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


def convert(kbin, out):
    data = open(kbin, 'rb').read()
    tab, meta = tables(data)
    patches = []
    for off, run in runs(tab):
        for k in range(0, len(run), 255):
            chunk = run[k:k + 255]
            patches.append(struct.pack('<I', off + k)[:3] +
                           bytes([len(chunk)]) + chunk)
    out_bytes = (bytes([1]) + struct.pack('<H', len(patches)) +
                 b''.join(patches) + meta)
    open(out, 'wb').write(out_bytes)


def seed_meta(seed):
    """The rule metadata of a seed: what follows its patches."""
    data = open(seed, 'rb').read()
    at = 3
    for _ in range(data[1] | data[2] << 8):
        at += 4 + data[at + 3]
    return data[at:]


def refresh(kload, seeds):
    with tempfile.TemporaryDirectory() as tmp:
        rules, kbin = os.path.join(tmp, 'rules.yml'), os.path.join(tmp, 'x.kbin')
        for seed in seeds:
            open(rules, 'wb').write(seed_meta(seed))
            subprocess.run([kload, 'compile', rules, '-o', kbin], check=True,
                           stdout=subprocess.DEVNULL)
            convert(kbin, seed)


def main():
    if sys.argv[1] == '--refresh':
        refresh(sys.argv[2], sys.argv[3:])
    else:
        convert(sys.argv[1], sys.argv[2])


if __name__ == '__main__':
    main()
