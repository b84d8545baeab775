#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Before/after figures of one bench/run.sh run (`--before DIR`).

AFTER.results holds this tree's result lines, BEFORE.results the same
benchmark built from an earlier tree (DIR) and run right after it on the
same machine. Every before line is renamed NAME.before (no target, not a
headline, its command marked with the tree it came from) and appended to
AFTER.results; the after line of the same NAME gets "baseline":
"NAME.before" and "ratio": after / before. Lines are rewritten in place.

usage: bench/before-after.py AFTER.results BEFORE.results DIR
"""
import json
import sys


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    after_path, before_path, tree = sys.argv[1:4]
    after, before = lines(after_path), lines(before_path)
    old = {}
    for b in before:
        name = b["name"]
        b["name"] = name + ".before"
        b["figure"] = "before (" + tree + "): " + b.get("figure", name)
        b["command"] = b.get("command", "") + " (built from " + tree + ")"
        b.pop("target", None)
        b.pop("headline", None)
        old[name] = b
    for a in after:
        b = old.get(a["name"])
        if b is None or a.get("value") is None:
            continue
        a["baseline"] = b["name"]
        if b.get("value"):
            a["ratio"] = round(a["value"] / b["value"], 3)
    with open(after_path, "w") as f:
        for o in after + list(old.values()):
            f.write(json.dumps(o) + "\n")


if __name__ == "__main__":
    main()
