"""Engine set-up for SQLite and PostgreSQL, and translation of database errors into StoreError."""

from __future__ import annotations

import os
import random
import sqlite3
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from pipeline.errors import StoreError

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
SQLITE_PAGE_SIZE = 16384
"""Bytes a page of a SQLite store created from now on (SQLite's default is 4096)."""
# Execution option that makes a SQLite transaction take the write lock up front (BEGIN IMMEDIATE):
# a deferred transaction that reads then writes can fail at once with "database is locked"
# instead of waiting for the busy timeout when another process writes concurrently.
WRITE_OPTION = "reunify_write"
# SQLSTATEs after which repeating the whole transaction is safe and expected to succeed.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure

_engines: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A forked child must not reuse the parent's pooled connections (Celery prefork, multiprocessing).
    for engine in list(_engines):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def normalise_url(url: str) -> URL:
    """Parse a database URL; plain ``postgresql://`` and ``postgres://`` mean psycopg 3."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError as exc:
        raise StoreError(f"invalid database URL {url!r}: expected e.g. sqlite:///reunify.sqlite3") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported database {safe_url(parsed)}: REUNIFY_DATABASE_URL must be sqlite:///... "
            "or postgresql+psycopg://..."
        )
    return parsed


def safe_url(url: URL) -> str:
    """The URL as text with its password masked, fit for messages and logs."""
    return url.render_as_string(hide_password=True)


def create_engine(url: URL) -> sa.Engine:
    """An engine tuned for the backend: WAL and a busy timeout on SQLite, pre-ping on PostgreSQL."""
    try:
        if url.get_backend_name() == "sqlite":
            engine = sa.create_engine(
                url,
                hide_parameters=True,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            _configure_sqlite(engine)
        else:
            engine = sa.create_engine(url, hide_parameters=True, pool_pre_ping=True)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {safe_url(url)}: {exc}") from exc
    _engines.add(engine)
    return engine


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, so that we choose its kind.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
            # Only a new, empty file takes it (an existing store keeps its size): a run's bulk
            # load of ~500-byte records costs about 30% less CPU a row in 16 KiB pages than in
            # the default 4 KiB (fewer B-tree pages and splits; bench/README, task rawfetch)
            cur.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
            _enable_wal(cur)
            cur.execute("PRAGMA synchronous = NORMAL")
            # a run writes hundreds of MB of raw records: checkpoint every 64 MB of log rather
            # than SQLite's 4 MB, each checkpoint being a sync of the database file
            cur.execute("PRAGMA wal_autocheckpoint = 16384")
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _enable_wal(cur: sqlite3.Cursor) -> None:
    # WAL lets readers and one writer work at once and persists in the file. Switching needs a
    # moment alone with the file, and SQLite does not wait for that with the busy handler: retry.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02 + random.random() * 0.05)


def _detail(exc: BaseException) -> str:
    """The driver's message without the SQL statement or parameters (they may hold personal data)."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(orig).__name__


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE code of a wrapped driver error (PostgreSQL only), if any."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None)


def translate(exc: Exception, url: URL, action: str) -> StoreError:
    """A StoreError that tells the operator what failed and what to check; no password, no data."""
    where = safe_url(url)
    detail = _detail(exc)
    if isinstance(exc, sa_exc.OperationalError) and "database is locked" in detail:
        return StoreError(
            f"the SQLite database {where} stayed locked for {SQLITE_BUSY_TIMEOUT_SECONDS:.0f} s while "
            f"{action}: another process holds a long write; retry, or use PostgreSQL for many workers"
        )
    if isinstance(exc, sa_exc.DBAPIError) and exc.statement is None:
        return StoreError(f"cannot reach the database at {where} while {action}: {detail}")
    if isinstance(exc, sa_exc.OperationalError):
        if "no such table" in detail or "does not exist" in detail:
            return StoreError(
                f"the database at {where} has no Reunify schema or an old one ({detail}); "
                "run `reunify db upgrade`"
            )
        return StoreError(f"the database at {where} failed while {action}: {detail}")
    if isinstance(exc, sa_exc.ProgrammingError) and "does not exist" in detail:
        return StoreError(
            f"the database at {where} has no Reunify schema or an old one ({detail}); "
            "run `reunify db upgrade`"
        )
    if isinstance(exc, sa_exc.IntegrityError):
        return StoreError(f"the database at {where} refused the data while {action}: {detail}")
    return StoreError(f"database error at {where} while {action}: {detail}")


@contextmanager
def translated(url: URL, action: str) -> Iterator[None]:
    """Turn SQLAlchemy errors raised inside the block into StoreError."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc, url, action) from exc
