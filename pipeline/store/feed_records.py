"""A run's raw feed records (bulk-loaded, the latest copy of an id kept) and quarantine, read back
in record id order, carried forward by incremental runs; and the feeds' fetch cursors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import partial

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from pipeline.errors import StoreError
from pipeline.records import Quarantined, keep_latest
from pipeline.store.db import DEFAULT_BATCH, Database, Insert, chunks, copy_rows
from pipeline.store.schema import (
    feed_cursors,
    feed_records,
    quarantine,
)

# Staging table for PostgreSQL bulk loads: COPY into it, then one INSERT .. ON CONFLICT from it.
_STAGE = sa.table(
    "reunify_stage_records",
    sa.column("record_id", sa.Text()),
    sa.column("updated_at", sa.Text()),
    sa.column("payload", sa.Text()),
)
_CREATE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS reunify_stage_records "
    "(record_id text NOT NULL, updated_at text NOT NULL, payload text NOT NULL) ON COMMIT DELETE ROWS"
)


class FeedRecordRepository:
    """The ``feed_records``, ``quarantine`` and ``feed_cursors`` tables."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._sqlite_upsert: str | None = None

    # -- writing -----------------------------------------------------------------------------------

    def clear_feed(self, run_id: str, feed: str) -> None:
        """Forget a run's records and quarantine of one feed (before re-fetching it)."""
        with self._db.write("clearing a feed") as conn:
            for table in (feed_records, quarantine):
                conn.execute(sa.delete(table).where(table.c.run_id == run_id, table.c.feed == feed))

    def add_feed_records(self, run_id: str, feed: str, rows: Iterable[tuple[str, str, str]]) -> int:
        """Store raw records ``(record_id, updated_at, payload_json)``; returns how many rows came in.

        Idempotent and safe from concurrent processes: for a record id seen more than once (in this
        call or an earlier one) the copy with the greatest ``updated_at`` stays, the later copy on a
        tie. ``updated_at`` is compared as text, so give it in one ISO form (UTC, ``Z``), or ``''``
        when the feed has none. Commits every ``batch_size`` rows.
        """
        total = 0
        for chunk in chunks(rows, self._db.batch):
            total += len(chunk)
            latest: dict[str, tuple[str, str]] = {}
            keep_latest(((rid, upd or "", payload) for rid, upd, payload in chunk), latest)
            # Sorted keys: concurrent writers lock rows in the same order, so they cannot deadlock.
            batch = [(rid, upd, payload) for rid, (upd, payload) in sorted(latest.items())]
            load = self._load_records_pg if self._db.backend == "postgresql" else self._load_records_sqlite
            self._db.write_retrying("adding feed records", partial(load, run_id, feed, batch))
        return total

    def _upsert_records(self, source: Insert) -> Insert:
        return source.on_conflict_do_update(
            index_elements=[feed_records.c.run_id, feed_records.c.feed, feed_records.c.record_id],
            set_={"updated_at": source.excluded.updated_at, "payload": source.excluded.payload},
            # Latest wins, the later copy on a tie; an identical copy is not rewritten (redelivery).
            where=sa.or_(
                source.excluded.updated_at > feed_records.c.updated_at,
                sa.and_(
                    source.excluded.updated_at == feed_records.c.updated_at,
                    source.excluded.payload != feed_records.c.payload,
                ),
            ),
        )

    def _load_records_sqlite(
        self, run_id: str, feed: str, batch: Sequence[tuple[str, str, str]], conn: sa.Connection
    ) -> None:
        # The Core upsert compiled once, then a plain DB-API executemany of tuples: SQLAlchemy's
        # per-row parameter processing would otherwise cost as much as SQLite's own work.
        if self._sqlite_upsert is None:
            compiled = self._upsert_records(sqlite.insert(feed_records)).compile(
                dialect=conn.dialect,
                column_keys=["run_id", "feed", "record_id", "updated_at", "payload"],
            )
            if compiled.positiontup != ["run_id", "feed", "record_id", "updated_at", "payload"]:
                raise AssertionError(f"unexpected upsert parameters {compiled.positiontup}")
            self._sqlite_upsert = str(compiled)
        params = [(run_id, feed, rid, upd, payload) for rid, upd, payload in batch]
        conn.exec_driver_sql(self._sqlite_upsert, params)

    def _load_records_pg(
        self, run_id: str, feed: str, batch: Sequence[tuple[str, str, str]], conn: sa.Connection
    ) -> None:
        conn.exec_driver_sql(_CREATE_STAGE)
        copy_rows(conn, "COPY reunify_stage_records (record_id, updated_at, payload) FROM STDIN", batch)
        source = sa.select(
            sa.literal(run_id, sa.String()),
            sa.literal(feed, sa.String()),
            _STAGE.c.record_id,
            _STAGE.c.updated_at,
            _STAGE.c.payload,
        ).order_by(_STAGE.c.record_id)
        stmt = postgresql.insert(feed_records).from_select(
            ["run_id", "feed", "record_id", "updated_at", "payload"], source
        )
        conn.execute(self._upsert_records(stmt))

    def add_quarantine(self, run_id: str, feed: str, items: Iterable[Quarantined]) -> int:
        """Keep malformed records of a feed with their reasons; returns how many were added."""
        total = 0
        for chunk in chunks(items, self._db.batch):
            rows = []
            for item in chunk:
                if item.feed != feed:
                    raise StoreError(f"quarantined record of feed {item.feed!r} given for feed {feed!r}")
                rows.append(
                    {
                        "run_id": run_id,
                        "feed": feed,
                        "record_id": item.record_id,
                        "reason": item.reason,
                        "payload": item.payload,
                    }
                )
            with self._db.write("adding quarantined records") as conn:
                conn.execute(sa.insert(quarantine), rows)
            total += len(rows)
        return total

    def carry_forward(self, run_id: str, feed: str, from_run_id: str, until: str | None = None) -> int:
        """Copy into ``run_id`` every record of ``feed`` that ``from_run_id`` held and this run lacks.

        An incremental run fetches only what changed, then carries the rest of the feed's current
        state forward from the last good run, in one INSERT .. SELECT inside the database. Where
        both hold a record, the greater ``updated_at`` stays (the fetched copy on a tie), except
        that an old copy dated after ``until`` (in the future when it was fetched) never replaces
        a fetched one: the agency corrected it.
        """
        fr = feed_records.alias("prev")
        source = sa.select(
            sa.literal(run_id, sa.String()), fr.c.feed, fr.c.record_id, fr.c.updated_at, fr.c.payload
        ).where(fr.c.run_id == from_run_id, fr.c.feed == feed)
        make = postgresql.insert if self._db.backend == "postgresql" else sqlite.insert
        stmt = make(feed_records).from_select(
            ["run_id", "feed", "record_id", "updated_at", "payload"], source
        )
        newer = stmt.excluded.updated_at > feed_records.c.updated_at
        if until is not None:
            newer = sa.and_(newer, stmt.excluded.updated_at <= until)
        stmt = stmt.on_conflict_do_update(
            index_elements=[feed_records.c.run_id, feed_records.c.feed, feed_records.c.record_id],
            set_={"updated_at": stmt.excluded.updated_at, "payload": stmt.excluded.payload},
            where=newer,
        )
        # SQLAlchemy keeps an INSERT's rowcount only when asked (psycopg's would read -1)
        stmt = stmt.execution_options(preserve_rowcount=True)
        return int(
            self._db.write_retrying("carrying feed records forward", lambda conn: conn.execute(stmt).rowcount)
        )

    def refresh_statistics(self) -> None:
        """Have the database re-plan record lookups after a run's bulk load. PostgreSQL's
        autovacuum analyses a new table late: until then a lookup of records by id scans every
        record of the feed (seconds per batch of ids instead of milliseconds). SQLite needs none."""
        if self._db.backend != "postgresql":
            return
        with self._db.write("analysing feed records") as conn:
            conn.exec_driver_sql("ANALYZE feed_records")

    # -- reading -----------------------------------------------------------------------------------

    def iter_feed_payloads(self, run_id: str, feed: str, batch: int = DEFAULT_BATCH) -> Iterator[str]:
        """Stream the payload JSON texts of a run's feed, in record id order, ``batch`` rows at a time."""
        stmt = (
            sa.select(feed_records.c.payload)
            .where(feed_records.c.run_id == run_id, feed_records.c.feed == feed)
            .order_by(feed_records.c.record_id)
            .execution_options(yield_per=batch)
        )
        with self._db.read("reading feed records") as conn:
            yield from conn.execute(stmt).scalars()

    def count_feed_records(self, run_id: str, feed: str) -> int:
        """How many distinct records of a feed a run holds."""
        stmt = (
            sa.select(sa.func.count())
            .select_from(feed_records)
            .where(feed_records.c.run_id == run_id, feed_records.c.feed == feed)
        )
        with self._db.read("counting feed records") as conn:
            return int(conn.execute(stmt).scalar_one())

    def feed_high_water(self, run_id: str, feed: str, until: str | None = None) -> str | None:
        """The greatest ``updated_at`` among a run's records of a feed (None when it has none with one),
        counting only those at or before ``until`` (same fixed-width ISO form) when given.

        An incremental fetch asks the feed for what changed at or after this mark. A record dated
        in the future (9999-12-31) must not count (``until``): it would blind every later run.
        """
        stmt = sa.select(sa.func.max(feed_records.c.updated_at)).where(
            feed_records.c.run_id == run_id, feed_records.c.feed == feed, feed_records.c.updated_at != ""
        )
        if until is not None:
            stmt = stmt.where(feed_records.c.updated_at <= until)
        with self._db.read("reading a feed's high-water mark") as conn:
            value = conn.execute(stmt).scalar()
        return str(value) if value else None

    def get_feed_payloads(self, run_id: str, feed: str, record_ids: Iterable[str]) -> dict[str, str]:
        """The payload JSON texts of some records of a run's feed, by record id (missing ids left out)."""
        wanted = sorted(set(record_ids))
        out: dict[str, str] = {}
        f = feed_records.c
        with self._db.read("reading feed records") as conn:
            for chunk in chunks(wanted, 500):
                stmt = sa.select(f.record_id, f.payload).where(
                    f.run_id == run_id, f.feed == feed, f.record_id.in_(chunk)
                )
                out.update({row.record_id: row.payload for row in conn.execute(stmt)})
        return out

    def list_quarantine(self, run_id: str, feed: str | None = None) -> list[Quarantined]:
        """A run's quarantined records (of one feed, or all), in the order they came."""
        q = quarantine.c
        stmt = sa.select(q.feed, q.record_id, q.reason, q.payload).where(q.run_id == run_id).order_by(q.id)
        if feed is not None:
            stmt = stmt.where(q.feed == feed)
        with self._db.read("listing quarantined records") as conn:
            return [Quarantined(r.feed, r.record_id, r.reason, r.payload) for r in conn.execute(stmt)]

    # -- feed cursors ------------------------------------------------------------------------------

    def get_feed_cursor(self, feed: str) -> datetime | None:
        """When the feed was last fetched completely and successfully, for incremental fetches."""
        stmt = sa.select(feed_cursors.c.last_successful_fetch_at).where(feed_cursors.c.feed == feed)
        with self._db.read("reading a feed cursor") as conn:
            value: datetime | None = conn.execute(stmt).scalar()
            return value

    def set_feed_cursor(self, feed: str, fetched_at: datetime) -> None:
        """Remember a successful complete fetch of ``feed`` that started at ``fetched_at``."""
        ins = self._db.insert(feed_cursors).values(feed=feed, last_successful_fetch_at=fetched_at)
        stmt = ins.on_conflict_do_update(
            index_elements=[feed_cursors.c.feed],
            set_={"last_successful_fetch_at": ins.excluded.last_successful_fetch_at},
        )
        with self._db.write("recording a feed cursor") as conn:
            conn.execute(stmt)
