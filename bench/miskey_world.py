"""Copy a world directory with mis-keyed A-numbers, the noise the contract names but the
generator does not make: one digit replaced, or two adjacent digits swapped.

Usage: .venv/bin/python bench/miskey_world.py SRC DST [--rate 0.03] [--seed 1]
The truth (expected.jsonl) is copied unchanged: it names records by id, not by A-number.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import shutil
import sys
from pathlib import Path


def miskey(value: str, rng: random.Random) -> str:
    """The A-number with one keying error, in the same spelling (dashes, spaces, prefix kept)."""
    positions = [i for i, ch in enumerate(value) if ch.isdigit()]
    if len(positions) < 2:
        return value
    chars = list(value)
    k = rng.randrange(len(positions) - 1)
    i, j = positions[k], positions[k + 1]
    if rng.random() < 0.5 and chars[i] != chars[j]:
        chars[i], chars[j] = chars[j], chars[i]
    else:
        chars[i] = rng.choice([d for d in "0123456789" if d != chars[i]])
    return "".join(chars)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--rate", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.dst.mkdir(parents=True, exist_ok=True)
    for name in ("expected.jsonl", "world.json", "dna_results.json"):
        if (args.src / name).exists():
            shutil.copy(args.src / name, args.dst / name)
    changed = 0
    for name, key in (("orr_children.json", "aNumber"), ("ice_detainees.json", "a_number")):
        records = json.loads((args.src / name).read_text(encoding="utf-8"))
        for rec in records:
            value = rec.get(key) if isinstance(rec, dict) else None
            if isinstance(value, str) and value and rng.random() < args.rate:
                rec[key] = miskey(rec[key], rng)
                changed += 1
        (args.dst / name).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    rows = list(csv.reader(io.StringIO((args.src / "removals.csv").read_text(encoding="utf-8"))))
    for row in rows[1:]:
        if len(row) > 1 and row[1] and rng.random() < args.rate:
            row[1] = miskey(row[1], rng)
            changed += 1
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (args.dst / "removals.csv").write_text(out.getvalue(), encoding="utf-8")
    print(f"{changed} A-numbers mis-keyed -> {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
