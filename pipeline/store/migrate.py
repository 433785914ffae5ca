"""Alembic, driven from code: the migrations ship inside the package, no alembic.ini needed.

``upgrade(engine)`` is safe when many processes call it at once: on PostgreSQL the whole upgrade
runs in one transaction holding a transaction-level advisory lock (DDL is transactional there, so a
waiting process then finds the schema at head and does nothing); on SQLite the transaction starts
with BEGIN IMMEDIATE, which serialises writers the same way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from pipeline.errors import StoreError
from pipeline.store.engine import WRITE_OPTION, safe_url

SCRIPT_LOCATION = "pipeline.store:migrations"
# Key of the PostgreSQL advisory lock taken around upgrades (any constant bigint; "reunify" in ASCII).
ADVISORY_LOCK_KEY = 0x7265756E696679


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations (and at ``url`` when given)."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    """The newest revision this version of Reunify knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: sa.Connection) -> str | None:
    """The revision the database is at (None when it has never been migrated)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; concurrent callers wait for each other, then find nothing to do."""
    cfg = alembic_config()
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
            cfg.attributes["connection"] = conn
            try:
                command.upgrade(cfg, revision)
            except CommandError as exc:
                raise StoreError(
                    f"cannot migrate the database at {safe_url(engine.url)}: {exc} "
                    "(is it from a newer version of Reunify?)"
                ) from exc
