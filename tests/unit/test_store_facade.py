"""The store's façade (``pipeline/store/sql.py``): every method callers used before the store was
split into repositories is still there with its signature, each forwards to a repository that has
it, and the façade plays every role of ``pipeline/store/ports.py``. No database is touched
(``Store`` connects lazily); the repositories' behaviour is proved on SQLite and PostgreSQL by
tests/integration/test_store*.py."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from pipeline.store import Store
from pipeline.store.ports import ROLES
from pipeline.store.sql import forward

# The public methods of Store before the split (0c839dd), which callers and tests use.
BEFORE_THE_SPLIT = [
    "now",
    "upgrade",
    "schema_revision",
    "ping",
    "close",
    "start_run",
    "set_stage",
    "heartbeat",
    "record_feed_counts",
    "fail_run",
    "cancel_run",
    "fail_quiet_run",
    "fail_stale_runs",
    "get_run",
    "list_runs",
    "latest_succeeded_run",
    "running_runs",
    "save_gate_checks",
    "list_gate_checks",
    "mark_sent",
    "resend_step",
    "claim_step",
    "refresh_step",
    "release_step",
    "finish_step",
    "list_steps",
    "advance_stage",
    "clear_feed",
    "add_feed_records",
    "add_quarantine",
    "iter_feed_payloads",
    "count_feed_records",
    "feed_high_water",
    "carry_forward",
    "list_quarantine",
    "save_results",
    "mark_succeeded",
    "publish_results",
    "iter_results",
    "results_count",
    "acquire_lock",
    "refresh_lock",
    "release_lock",
    "lock_holder",
    "prune_runs",
    "add_decision",
    "list_decisions",
    "get_feed_cursor",
    "set_feed_cursor",
    "succeeded_runs",
    "previous_succeeded_run",
    "iter_history",
    "run_totals",
    "last_success_by_trigger",
    "result_totals",
    "find_result",
    "save_candidates",
    "list_candidates",
    "refresh_statistics",
    "get_feed_payloads",
    "put_artifact",
    "get_artifact",
    "delete_artifacts",
]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'never-opened.sqlite3'}")


def _forwards() -> dict[str, forward[..., object]]:
    return {name: value for name, value in vars(Store).items() if isinstance(value, forward)}


def test_every_method_callers_used_before_the_split_is_still_on_the_facade(store: Store) -> None:
    missing = [name for name in BEFORE_THE_SPLIT if not callable(getattr(store, name, None))]
    assert missing == []
    assert isinstance(Store.url, property) and isinstance(Store.backend, property)


def test_each_facade_method_is_its_repositorys_own_with_the_same_signature(store: Store) -> None:
    for name, fwd in _forwards().items():
        room = getattr(store, fwd.room)
        assert getattr(type(room), name) is fwd.method, name
        assert inspect.signature(getattr(store, name)) == inspect.signature(getattr(room, name)), name
        assert getattr(store, name).__doc__, f"{name} has no docstring"


def test_the_facade_plays_every_role_of_the_ports(store: Store) -> None:
    assert [role.__name__ for role in ROLES if not isinstance(store, role)] == []


def test_a_forward_named_unlike_its_method_is_refused() -> None:
    from pipeline.store.runs import RunRepository

    misnamed = forward("runs", RunRepository.start_run)
    with pytest.raises(TypeError, match="same name"):
        misnamed.__set_name__(Store, "begin")  # what ``begin = forward(...)`` in a class body calls
