"""Fixtures shared by every tier: worlds from the project's generator, the feed simulator,
settings that point at them, and databases of both backends."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pg_databases import fresh_pg_database
from sqlalchemy.engine import make_url

from pipeline.settings import Settings, load_settings
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.sim.world import World, generate_world

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
PG_ADMIN_URL = os.environ.get(
    "REUNIFY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def small_world() -> World:
    """A 160-child world: big enough for every status, small enough for a fast run."""
    return generate_world(160, seed=11)


@pytest.fixture
def simulator(small_world: World) -> Iterator[FeedSimulator]:
    """The small world served over real HTTP on a free loopback port."""
    with FeedSimulator(small_world.to_payloads(), faults=FaultConfig(retry_after=0.05)) as sim:
        yield sim


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a simulator and a store URL (a SQLite file in tmp_path by default)."""

    def build(sim: FeedSimulator, database_url: str | None = None, **extra: str) -> Settings:
        env: dict[str, Any] = sim.env() | {
            "REUNIFY_AS_OF": "2018-07-12",
            "REUNIFY_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'reunify.sqlite3'}",
            "REUNIFY_REQUEST_TIMEOUT": "5",
            "REUNIFY_RETRY_MAX_SECONDS": "30",
            "REUNIFY_RETRY_MAX_ATTEMPTS": "10",
        }
        env.update(extra)
        return load_settings(env, config_file=tmp_path / "none.toml")

    return build


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[sa.Engine]:
    """An AUTOCOMMIT engine on the local PostgreSQL; skips when the server does not answer."""
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.skip(f"PostgreSQL unreachable at {make_url(PG_ADMIN_URL).render_as_string()}: {exc.orig}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin_engine: sa.Engine) -> Iterator[str]:
    """The URL of a fresh PostgreSQL database, dropped after the test."""
    with fresh_pg_database(pg_admin_engine) as url:  # tests/pg_databases.py
        yield url
