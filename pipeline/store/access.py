"""The console's part of the store: users, server-side sessions and the append-only audit trail.

``AccessStore(store)`` works on the same database as the :class:`~pipeline.store.Store` it is
given (same engine, same migrations, same error translation). It stores password hashes and
session-token hashes only; hashing and checking passwords is :mod:`pipeline.web.accounts`' job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from pipeline.errors import StoreError
from pipeline.store.schema import ROLES, audit_log, web_sessions, web_users
from pipeline.store.sql import Store


@dataclass(frozen=True, slots=True)
class User:
    """A console user (the hash stays in the store unless asked for)."""

    id: int
    name: str
    role: str
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    """A live console session and the user it belongs to."""

    token_hash: str
    user: User
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit trail: who saw or decided what, about which children (ids only)."""

    id: int
    at: datetime
    username: str
    role: str
    action: str
    route: str
    child_ids: list[str]
    detail: str

    def to_json(self) -> dict[str, object]:
        """The line as JSON (``GET /api/audit``, ``reunify audit --format jsonl``)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "who": self.username,
            "role": self.role,
            "action": self.action,
            "route": self.route,
            "child_record_ids": self.child_ids,
            "detail": self.detail,
        }


def _user(row: sa.RowMapping) -> User:
    return User(
        id=int(row["id"]),
        name=str(row["name"]),
        role=str(row["role"]),
        disabled=bool(row["disabled"]),
        failed_logins=int(row["failed_logins"]),
        locked_until=row["locked_until"],
        created_at=row["created_at"],
    )


_USER_COLUMNS = (
    web_users.c.id,
    web_users.c.name,
    web_users.c.role,
    web_users.c.disabled,
    web_users.c.failed_logins,
    web_users.c.locked_until,
    web_users.c.created_at,
)


class AccessStore:
    """Users, sessions and the audit trail, in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        """The results store this works beside."""
        return self._store

    # -- users ---------------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password_hash: str) -> User:
        """Create a user; StoreError when the name is taken or the role unknown."""
        _check_role(role)
        if self.get_user(name) is not None:
            raise StoreError(
                f"a user named {name!r} already exists: use `reunify users set-role` or reset-password"
            )
        with self._store._write("adding a console user") as conn:
            conn.execute(
                sa.insert(web_users).values(
                    name=name, role=role, password_hash=password_hash, created_at=self._store.now()
                )
            )
        found = self.get_user(name)
        assert found is not None
        return found

    def get_user(self, name: str) -> User | None:
        """The user of that name, or None."""
        with self._store._read("reading a console user") as conn:
            row = conn.execute(sa.select(*_USER_COLUMNS).where(web_users.c.name == name)).mappings().first()
        return None if row is None else _user(row)

    def password_hash(self, name: str) -> str | None:
        """The stored hash of a user's password (for checking a login), or None."""
        with self._store._read("reading a password hash") as conn:
            value = conn.execute(
                sa.select(web_users.c.password_hash).where(web_users.c.name == name)
            ).scalar()
        return None if value is None else str(value)

    def list_users(self) -> list[User]:
        """Every user, by name."""
        with self._store._read("listing console users") as conn:
            rows = conn.execute(sa.select(*_USER_COLUMNS).order_by(web_users.c.name)).mappings().all()
        return [_user(r) for r in rows]

    def update_user(
        self,
        name: str,
        *,
        role: str | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
    ) -> User:
        """Change a user's role, disabled flag or password; a disabled user or a new password also
        ends the user's sessions. StoreError when there is no such user."""
        values: dict[str, object] = {}
        if role is not None:
            _check_role(role)
            values["role"] = role
        if disabled is not None:
            values["disabled"] = disabled
        if password_hash is not None:
            values.update(password_hash=password_hash, failed_logins=0, locked_until=None)
        with self._store._write("changing a console user") as conn:
            user_id = conn.execute(sa.select(web_users.c.id).where(web_users.c.name == name)).scalar()
            if user_id is None:
                raise StoreError(f"no console user named {name!r}: `reunify users list` shows them")
            if values:
                conn.execute(sa.update(web_users).where(web_users.c.id == user_id).values(**values))
            if disabled or password_hash is not None or role is not None:
                conn.execute(sa.delete(web_sessions).where(web_sessions.c.user_id == user_id))
        found = self.get_user(name)
        assert found is not None
        return found

    def record_login_failure(self, name: str, max_failures: int, lockout: timedelta) -> None:
        """Count a wrong password; at ``max_failures`` in a row the user is locked for ``lockout``."""
        now = self._store.now()
        with self._store._write("counting a failed login") as conn:
            failures = conn.execute(
                sa.update(web_users)
                .where(web_users.c.name == name)
                .values(failed_logins=web_users.c.failed_logins + 1)
                .returning(web_users.c.failed_logins)
            ).scalar()
            if failures is not None and int(failures) >= max_failures:
                conn.execute(
                    sa.update(web_users)
                    .where(web_users.c.name == name)
                    .values(failed_logins=0, locked_until=now + lockout)
                )

    def record_login_success(self, name: str) -> None:
        """Reset the failure count after a good password."""
        with self._store._write("recording a login") as conn:
            conn.execute(
                sa.update(web_users)
                .where(web_users.c.name == name)
                .values(failed_logins=0, locked_until=None)
            )

    # -- sessions ------------------------------------------------------------------------------

    def create_session(self, user: User, token_hash: str, csrf_token: str) -> None:
        """Store a new session of ``user`` under the hash of its token."""
        now = self._store.now()
        with self._store._write("opening a console session") as conn:
            conn.execute(
                sa.insert(web_sessions).values(
                    token_hash=token_hash,
                    user_id=user.id,
                    csrf_token=csrf_token,
                    created_at=now,
                    last_seen_at=now,
                )
            )

    def touch_session(self, token_hash: str, idle: timedelta) -> Session | None:
        """The live session of that token hash, its idle clock reset; None when there is none, it
        was idle longer than ``idle`` (then it is ended), or its user is disabled."""
        now = self._store.now()
        s, u = web_sessions.c, web_users.c
        with self._store._read("reading a console session") as conn:
            row = (
                conn.execute(
                    sa.select(s.token_hash, s.csrf_token, s.created_at, s.last_seen_at, *_USER_COLUMNS)
                    .join(web_users, u.id == s.user_id)
                    .where(s.token_hash == token_hash)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        if row["disabled"] or row["last_seen_at"] < now - idle:
            self.end_session(token_hash)
            return None
        # one write a minute at most: a page's own requests need not each rewrite the row (and a
        # read needs no write lock while a run is writing)
        if row["last_seen_at"] < now - timedelta(seconds=60):
            with self._store._write("refreshing a console session") as conn:
                conn.execute(
                    sa.update(web_sessions).where(s.token_hash == token_hash).values(last_seen_at=now)
                )
        return Session(
            token_hash=str(row["token_hash"]),
            user=_user(row),
            csrf_token=str(row["csrf_token"]),
            created_at=row["created_at"],
            last_seen_at=now,
        )

    def end_session(self, token_hash: str) -> None:
        """Log a session out."""
        with self._store._write("ending a console session") as conn:
            conn.execute(sa.delete(web_sessions).where(web_sessions.c.token_hash == token_hash))

    def end_idle_sessions(self, idle: timedelta) -> int:
        """End every session idle longer than ``idle``; how many."""
        cutoff = self._store.now() - idle
        with self._store._write("ending idle console sessions") as conn:
            result = conn.execute(sa.delete(web_sessions).where(web_sessions.c.last_seen_at < cutoff))
        return int(result.rowcount or 0)

    # -- audit ---------------------------------------------------------------------------------

    def audit(
        self, user: User, action: str, route: str, child_ids: Sequence[str] = (), detail: str = ""
    ) -> None:
        """Append one line to the audit trail (ids only: never names or record contents)."""
        with self._store._write("writing the audit trail") as conn:
            conn.execute(
                sa.insert(audit_log).values(
                    at=self._store.now(),
                    username=user.name,
                    role=user.role,
                    action=action,
                    route=route[:255],
                    child_ids=json.dumps(list(child_ids)),
                    detail=detail,
                )
            )

    def list_audit(
        self,
        *,
        username: str | None = None,
        since: datetime | None = None,
        child_id: str | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]:
        """The newest audit lines first, optionally one user's, since a time, or naming one child."""
        a = audit_log.c
        stmt = sa.select(audit_log).order_by(a.id.desc()).limit(limit)
        if username is not None:
            stmt = stmt.where(a.username == username)
        if since is not None:
            stmt = stmt.where(a.at >= since)
        if child_id is not None:
            stmt = stmt.where(a.child_ids.like(f"%{json.dumps(child_id)}%"))
        with self._store._read("reading the audit trail") as conn:
            rows = conn.execute(stmt).mappings().all()
        return [
            AuditEntry(
                id=int(r["id"]),
                at=r["at"],
                username=str(r["username"]),
                role=str(r["role"]),
                action=str(r["action"]),
                route=str(r["route"]),
                child_ids=list(json.loads(r["child_ids"])),
                detail=str(r["detail"]),
            )
            for r in rows
        ]


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise StoreError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
