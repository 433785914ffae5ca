"""SQLite's per-row cost of ways to lay out stored feed records (issue 19 item 1, store writes).

    .venv/bin/python -m bench.store_layout --world /tmp/worlds/world-20000-s7 --rounds 2

The world's ICE records (compact JSON, as stored) are written in the fetch's batches of 5,000,
each batch sorted by id and committed, with sqlite3 alone (no SQLAlchemy, no other tables), WAL
and ``synchronous = NORMAL`` as the store sets them. Layouts: today's table (a rowid table with
the primary key (run_id, feed, record_id) as a second B-tree) in pages of 4 to 64 KiB;
``WITHOUT ROWID`` (the row inside the key's B-tree); and one row per page of 500 records, alone
and with the record-id index that carry-forward and lookups by id need. Prints CPU and wall µs
a record.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

RUN = "3f0c2a9e-1c4e-4d0b-9a57-5b8c7e0f1a2b"
BATCH = 5000
TABLE = (
    "CREATE TABLE feed_records (run_id VARCHAR(64) NOT NULL, feed VARCHAR(16) NOT NULL, "
    "record_id VARCHAR(255) NOT NULL, updated_at VARCHAR(64) NOT NULL, payload TEXT NOT NULL, "
    "CONSTRAINT pk PRIMARY KEY (run_id, feed, record_id)){suffix}"
)
# the store's upsert (pipeline/store/feed_records.py), as SQLAlchemy compiles it for SQLite
UPSERT = (
    "INSERT INTO feed_records (run_id, feed, record_id, updated_at, payload) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, feed, record_id) DO UPDATE SET updated_at = excluded.updated_at, "
    "payload = excluded.payload WHERE excluded.updated_at > feed_records.updated_at OR "
    "(excluded.updated_at = feed_records.updated_at AND excluded.payload != feed_records.payload)"
)
Rows = list[tuple[str, str, str]]


def _connect(path: Path, page_size: int | None) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    if page_size:
        conn.execute(f"PRAGMA page_size = {page_size}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint = 16384")
    return conn


def per_row(rows: Rows, suffix: str = "", page_size: int | None = None) -> None:
    """Today's upsert into a feed_records table."""
    with tempfile.TemporaryDirectory(prefix="reunify-layout-") as tmp:
        conn = _connect(Path(tmp) / "x.db", page_size)
        conn.execute(TABLE.format(suffix=suffix))
        for i in range(0, len(rows), BATCH):
            chunk = sorted(rows[i : i + BATCH])
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(UPSERT, [(RUN, "ice", rid, upd, payload) for rid, upd, payload in chunk])
            conn.execute("COMMIT")
        conn.close()


def page_rows(rows: Rows, with_index: bool, page_size: int | None = None) -> None:
    """One row per 500 records (a JSON list), and optionally one index row per record id."""
    with tempfile.TemporaryDirectory(prefix="reunify-layout-") as tmp:
        conn = _connect(Path(tmp) / "x.db", page_size)
        conn.execute(
            "CREATE TABLE feed_pages (run_id TEXT, feed TEXT, page INTEGER, body TEXT, "
            "PRIMARY KEY (run_id, feed, page))"
        )
        conn.execute(
            "CREATE TABLE feed_ids (run_id TEXT, feed TEXT, record_id TEXT, page INTEGER, "
            "updated_at TEXT, PRIMARY KEY (run_id, feed, record_id)) WITHOUT ROWID"
        )
        number = 0
        for i in range(0, len(rows), BATCH):
            chunk = sorted(rows[i : i + BATCH])
            conn.execute("BEGIN IMMEDIATE")
            pages = [
                (RUN, "ice", number + j // 500, "[" + ",".join(p for _, _, p in chunk[j : j + 500]) + "]")
                for j in range(0, len(chunk), 500)
            ]
            conn.executemany("INSERT INTO feed_pages VALUES (?, ?, ?, ?)", pages)
            if with_index:
                conn.executemany(
                    "INSERT INTO feed_ids VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                    "page = excluded.page, updated_at = excluded.updated_at "
                    "WHERE excluded.updated_at >= feed_ids.updated_at",
                    [(RUN, "ice", rid, number + j // 500, upd) for j, (rid, upd, _) in enumerate(chunk)],
                )
            number += len(pages)
            conn.execute("COMMIT")
        conn.close()


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    records = json.loads((args.world / "ice_detainees.json").read_text(encoding="utf-8"))
    rows: Rows = [
        (r["subject_id"], str(r.get("updated_at") or ""), orjson.dumps(r).decode())
        for r in records
        if isinstance(r, dict) and isinstance(r.get("subject_id"), str)
    ]
    layouts: dict[str, Callable[[], None]] = {
        "rowid table + key index, 4 KiB pages (today)": lambda: per_row(rows),
        "rowid table + key index, 8 KiB pages": lambda: per_row(rows, page_size=8192),
        "rowid table + key index, 16 KiB pages": lambda: per_row(rows, page_size=16384),
        "rowid table + key index, 64 KiB pages": lambda: per_row(rows, page_size=65536),
        "WITHOUT ROWID, 4 KiB pages": lambda: per_row(rows, " WITHOUT ROWID"),
        "WITHOUT ROWID, 16 KiB pages": lambda: per_row(rows, " WITHOUT ROWID", 16384),
        "page rows, no record-id index": lambda: page_rows(rows, False),
        "page rows + record-id index, 4 KiB": lambda: page_rows(rows, True),
        "page rows + record-id index, 16 KiB": lambda: page_rows(rows, True, 16384),
    }
    size = sum(len(p) for _, _, p in rows) / len(rows)
    print(f"{len(rows):,} ICE records, {size:.0f} bytes of JSON each on average")
    for number in range(args.rounds):
        for name, write in layouts.items():
            cpu, wall = time.process_time(), time.perf_counter()
            write()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            per_cpu, per_wall = cpu / len(rows) * 1e6, wall / len(rows) * 1e6
            print(f"round {number + 1}  {name:46} {per_cpu:5.2f} CPU µs  {per_wall:5.2f} wall µs a record")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
