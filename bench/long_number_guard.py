"""What the twenty-digit guard of ``pipeline.jsontext`` costs (issue 19, item 4).

    .venv/bin/python -m bench.long_number_guard --world /tmp/worlds/world-20000-s7 --rounds 5

Runs the old regular expressions and ``jsontext._has_long_number`` over every JSON feed file of a
world as bytes (what the fetch decodes: its pages) and over each record's stored text (what a run
reading the store decodes), interleaved, and prints the best CPU seconds of each; it first checks
that both give the same answer on every input.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from pipeline import jsontext


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pages = [p.read_bytes() for p in sorted(args.world.glob("*.json")) if p.name != "world.json"]
    records: list[str] = []
    for page in pages:
        body = json.loads(page)
        lists = [body] if isinstance(body, list) else [v for v in body.values() if isinstance(v, list)]
        items = [x for found in lists for x in found]
        records += [jsontext.dumps(r) for r in items]
    text_re, bytes_re = re.compile(r"\d{20}"), re.compile(rb"\d{20}")
    cases: list[tuple[str, Callable[[], list[bool]]]] = [
        ("regex, pages", lambda: [bool(bytes_re.search(b)) for b in pages]),
        ("check, pages", lambda: [jsontext._has_long_number(b) for b in pages]),
        ("regex, records", lambda: [bool(text_re.search(t)) for t in records]),
        ("check, records", lambda: [jsontext._has_long_number(t) for t in records]),
    ]
    assert cases[0][1]() == cases[1][1]() and cases[2][1]() == cases[3][1](), "the check disagrees"
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, fn in cases:
            started = time.process_time()
            fn()
            best[name] = min(best.get(name, float("inf")), time.process_time() - started)
    non_ascii = sum(not r.isascii() for r in records)
    print(f"{sum(map(len, pages)) / 1e6:.0f} MB of feed JSON, {len(records)} records ({non_ascii} not ASCII)")
    for name, seconds in best.items():
        print(f"{name}: {seconds:.3f} CPU s, {seconds / len(records) * 1e6:.2f} us a record")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
