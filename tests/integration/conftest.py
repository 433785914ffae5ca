"""Fixtures of the integration tier: a database of each backend, the store's hand-moved clock, and a
local webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from store_clock import FakeClock
from webhook_receiver import Receiver


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    yield request.getfixturevalue("pg_url")  # tests/conftest.py: a fresh database, dropped after


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free loopback port (its ``url`` for REUNIFY_NOTIFY_URL)."""
    r = Receiver()
    yield r
    r.close()
