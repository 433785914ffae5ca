"""CPU µs a record of the fetch's work after the network, per JSON feed (issue 19 item 1).

    .venv/bin/python -m bench.fetch_parse --world /tmp/worlds/world-20000-s7 --rounds 3

Each feed's records are cut into pages of the size the feed serves and encoded as the simulator
sends them; each round decodes every page (``jsontext.loads``, as ``FeedClient.get_page`` does)
and validates it (``validate_page``: parse, the stored JSON text, the update time), timed with
``time.process_time``. Only APIs every checkout has are used, so the same script measures two
trees (``PYTHONPATH=<tree>``); the best round is printed.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import time
from pathlib import Path
from typing import Any

import structlog

from pipeline import jsontext
from pipeline.feeds.validate import validate_page
from pipeline.sim.server import _page_bytes

FEEDS = {
    "orr": ("orr_children.json", "children", 1000),
    "ice": ("ice_detainees.json", "detainees", 500),
    "dna": ("dna_results.json", "results", 1000),
}


def _pages(world: Path, feed: str) -> tuple[list[bytes], int]:
    name, key, size = FEEDS[feed]
    records: list[Any] = json.loads((world / name).read_text(encoding="utf-8"))
    pages = [_page_bytes({key: records[i : i + size]}) for i in range(0, len(records), size)]
    return pages, len(records)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    for feed, (_, key, _) in FEEDS.items():
        pages, count = _pages(args.world, feed)
        best_decode = best_validate = float("inf")
        for _ in range(args.rounds):
            gc.collect()
            started = time.process_time()
            bodies = [jsontext.loads(page) for page in pages]
            decoded = time.process_time()
            for body in bodies:
                validate_page(feed, body[key], [])
            done = time.process_time()
            best_decode = min(best_decode, decoded - started)
            best_validate = min(best_validate, done - decoded)
            del bodies
        us = 1e6 / count
        print(
            f"{feed}: {count:,} records, decode {best_decode * us:.2f} µs, "
            f"validate {best_validate * us:.2f} µs, "
            f"total {(best_decode + best_validate) * us:.2f} µs a record",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
