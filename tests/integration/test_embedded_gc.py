"""An in-process run keeps its fetched records out of the cyclic collector's passes while it
holds them (frozen), and gives them back however it ends."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pipeline import run as stages
from pipeline.errors import RunFailedError
from pipeline.run import embedded
from pipeline.settings import Settings
from pipeline.sim.server import FeedSimulator
from pipeline.store import Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def _watching(monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> list[tuple[int, int]]:
    """Replace the reconcile step by one noting (frozen objects, snapshot records) as it starts."""
    seen: list[tuple[int, int]] = []
    original = embedded.reconcile_run

    def watched(*args: Any, **kwargs: Any) -> int:
        snapshot = args[4]
        seen.append((gc.get_freeze_count(), sum(len(getattr(snapshot, a)) for a in snapshot.__slots__)))
        if fail:
            raise RuntimeError("reconcile broke")
        return original(*args, **kwargs)

    monkeypatch.setattr(embedded, "reconcile_run", watched)
    return seen


def test_the_records_are_frozen_while_reconciled_and_thawed_after(
    store: Store,
    db_url: str,
    simulator: FeedSimulator,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _watching(monkeypatch)
    assert gc.get_freeze_count() == 0
    stages.run_embedded(make_settings(simulator, db_url), store, "test")
    [(frozen, records)] = seen
    assert records > 1000 and frozen > records  # each record, and the objects it holds
    assert gc.get_freeze_count() == 0


def test_a_failed_run_thaws_them_too(
    store: Store,
    db_url: str,
    simulator: FeedSimulator,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _watching(monkeypatch, fail=True)
    with pytest.raises(RunFailedError):
        stages.run_embedded(make_settings(simulator, db_url), store, "test")
    assert seen and seen[0][0] > 0
    assert gc.get_freeze_count() == 0
