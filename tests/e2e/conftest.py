"""Fixtures of the end-to-end tier shared by the files that start Celery processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from celery_harness import REDIS_URL, free_redis_db, release_redis_db


@pytest.fixture
def broker_url() -> Iterator[str]:
    """A numbered database of the local Redis, claimed for this test (so test files running side
    by side never share a broker) and emptied after; skips when Redis does not answer."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {exc}")
    url = free_redis_db(REDIS_URL)
    yield url
    release_redis_db(url)
