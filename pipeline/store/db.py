"""The connection every repository of the store shares: engine, clock, transactions, bulk helpers.

Every public method of a repository runs in its own short transaction (``read`` or ``write``;
bulk loads commit per batch, which is safe because they are idempotent), so a crash leaves the
store consistent and a retried task can simply call the method again. Errors from the database
come out as ``StoreError``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL

from pipeline.errors import StoreError
from pipeline.store import migrate
from pipeline.store.engine import (
    RETRYABLE_SQLSTATES,
    WRITE_OPTION,
    create_engine,
    normalise_url,
    safe_url,
    sqlstate,
    translated,
)

DEFAULT_BATCH = 5000
_RETRIES = 5

T = TypeVar("T")
Insert = postgresql.Insert | sqlite.Insert


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def copy_rows(conn: sa.Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows in through psycopg, in the connection's transaction; errors look like SQLAlchemy's."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise sa_exc.DBAPIError.instance(
            sql, None, exc, psycopg.Error, hide_parameters=True, dialect=conn.dialect
        ) from exc


def utcnow() -> datetime:
    """The wall clock, timezone-aware UTC (the store's default clock)."""
    return datetime.now(UTC)


class Database:
    """One database (SQLite or PostgreSQL) as the repositories use it: connected lazily, migrated
    to the newest revision on first use (unless ``auto_upgrade`` is off), safe to share between
    threads."""

    def __init__(
        self,
        url: str,
        *,
        auto_upgrade: bool = True,
        batch_size: int = DEFAULT_BATCH,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.url: URL = normalise_url(url)
        self.engine = create_engine(self.url)
        self.backend = self.url.get_backend_name()
        self.batch = batch_size
        self._auto_upgrade = auto_upgrade
        self._upgraded = False
        self._upgrade_lock = threading.Lock()
        self._clock = clock

    @property
    def safe_url(self) -> str:
        """The database URL with the password masked."""
        return safe_url(self.url)

    def now(self) -> datetime:
        """The store's clock (timezone-aware UTC): the time its timestamps, leases and deadlines use."""
        now = self._clock()
        if now.tzinfo is None:
            raise StoreError("the store's clock returned a naive datetime")
        return now.astimezone(UTC)

    def _ready(self) -> None:
        if self._upgraded or not self._auto_upgrade:
            return
        with self._upgrade_lock:
            if not self._upgraded:
                self.upgrade()

    @contextmanager
    def read(self, action: str) -> Iterator[sa.Connection]:
        """A connection for reading; errors become StoreError saying ``action`` failed."""
        self._ready()
        with translated(self.url, action), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self, action: str) -> Iterator[sa.Connection]:
        """A connection in a write transaction (committed on leaving the block)."""
        self._ready()
        with translated(self.url, action), self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def write_retrying(self, action: str, body: Callable[[sa.Connection], T]) -> T:
        """Run ``body`` in a write transaction, repeating it after a deadlock or serialization failure."""
        for attempt in range(_RETRIES):
            try:
                with self.write(action) as conn:
                    return body(conn)
            except StoreError as exc:
                if attempt + 1 < _RETRIES and sqlstate(exc.__cause__ or exc) in RETRYABLE_SQLSTATES:
                    time.sleep(0.05 * 2**attempt * (1 + random.random()))
                    continue
                raise
        raise AssertionError("unreachable")

    def insert(self, table: sa.Table) -> Insert:
        """The backend's INSERT (both have ``on_conflict_do_*``)."""
        return postgresql.insert(table) if self.backend == "postgresql" else sqlite.insert(table)

    def upgrade(self) -> None:
        """Apply pending migrations (safe to call often, and from many processes at once)."""
        with translated(self.url, "applying migrations"):
            migrate.upgrade(self.engine)
        self._upgraded = True

    def schema_revision(self) -> str | None:
        """The migration revision the database is at (None before the first upgrade)."""
        with translated(self.url, "reading the schema revision"), self.engine.connect() as conn:
            return migrate.current_revision(conn)

    def ping(self) -> None:
        """Check that the database answers; raise StoreError saying why not."""
        with translated(self.url, "connecting"), self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
