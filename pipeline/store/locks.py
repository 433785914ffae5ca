"""Named locks with an owner and an expiry (the run lock: one run at a time)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from pipeline.store.db import Database
from pipeline.store.models import (
    LockHolder,
)
from pipeline.store.schema import (
    locks,
)


class LockRepository:
    """The ``locks`` table: take, extend, release a named lock; who holds it."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire_lock(self, name: str, owner: str, ttl_seconds: int) -> bool:
        """Take the lock ``name`` for ``ttl_seconds`` if it is free, expired, or already ours."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        now = self._db.now()
        expires_at = now + timedelta(seconds=ttl_seconds)
        ins = self._db.insert(locks).values(name=name, owner=owner, expires_at=expires_at)
        stmt = ins.on_conflict_do_update(
            index_elements=[locks.c.name],
            set_={"owner": ins.excluded.owner, "expires_at": ins.excluded.expires_at},
            where=sa.or_(locks.c.expires_at <= now, locks.c.owner == ins.excluded.owner),
        ).returning(locks.c.owner)
        # RETURNING gives a row only when the row was inserted or taken over (rowcount of an
        # INSERT is not reliable across drivers).
        with self._db.write("taking a lock") as conn:
            return conn.execute(stmt).first() is not None

    def refresh_lock(self, name: str, owner: str, ttl_seconds: int) -> bool:
        """Extend our lock to ``ttl_seconds`` from now; False if someone else holds it now."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        stmt = (
            sa.update(locks)
            .where(locks.c.name == name, locks.c.owner == owner)
            .values(expires_at=self._db.now() + timedelta(seconds=ttl_seconds))
        )
        with self._db.write("refreshing a lock") as conn:
            return conn.execute(stmt).rowcount == 1

    def release_lock(self, name: str, owner: str) -> bool:
        """Let go of our lock; False if we did not hold it."""
        stmt = sa.delete(locks).where(locks.c.name == name, locks.c.owner == owner)
        with self._db.write("releasing a lock") as conn:
            return conn.execute(stmt).rowcount == 1

    def lock_holder(self, name: str) -> LockHolder | None:
        """Who holds the lock and until when; None when it is free or has expired."""
        stmt = sa.select(locks.c.owner, locks.c.expires_at).where(
            locks.c.name == name, locks.c.expires_at > self._db.now()
        )
        with self._db.read("reading a lock") as conn:
            row = conn.execute(stmt).first()
        return LockHolder(row.owner, row.expires_at) if row else None
