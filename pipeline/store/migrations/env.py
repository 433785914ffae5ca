"""Alembic environment of the Reunify store.

Migrations run through ``pipeline.store.Store.upgrade()`` (or ``reunify db upgrade``), which
hands over an open connection in ``config.attributes["connection"]`` inside a transaction that
already holds the upgrade lock. Running ``alembic`` by hand works too with ``sqlalchemy.url``
set in the config.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from pipeline.store.schema import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: later migrations use batch mode there.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the connection we were given, or on ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("use pipeline.store.Store(url).upgrade() or set sqlalchemy.url")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run them online")
run_migrations_online()
