"""Fresh PostgreSQL databases for tests and fixtures of any scope."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url


@contextlib.contextmanager
def fresh_pg_database(admin: sa.Engine) -> Iterator[str]:
    """The URL of a new database on ``admin``'s server (an AUTOCOMMIT engine), dropped on leaving."""
    name = f"reunify_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin.url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
