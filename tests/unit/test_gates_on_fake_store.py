"""``pipeline.gates.check_publish`` against an in-memory store (tests/unit/fake_store.py): the
service needs only the store's roles of ``GateStore``, so its rules are proved here without a
database; tests/integration/test_publish_gates.py proves them again over HTTP and both stores."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fake_store import FakeStore

from pipeline.errors import PublishRefused, RunFailedError
from pipeline.gates import check_publish
from pipeline.settings import Settings, load_settings
from pipeline.store import Acceptance, FeedCounts, RunInfo
from pipeline.store.ports import Clock, FeedRecordReader, GateVerdicts, RunReader

T0 = datetime(2018, 7, 11, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
ENV = {
    f"REUNIFY_{feed.upper()}_{part}": "http://x" if part == "URL" else "t"
    for feed in ("orr", "ice", "removals")
    for part in ("URL", "TOKEN")
}
BASE_COUNTS = {
    "orr": FeedCounts(200, 200, 0),
    "ice": FeedCounts(1000, 1000, 0),
    "removals": FeedCounts(50, 50, 0),
}


def _settings(tmp_path: Path) -> Settings:
    return load_settings(ENV, config_file=tmp_path / "none.toml")


def _run(run_id: str, status: str, started: datetime, counts: dict[str, FeedCounts], **kw: object) -> RunInfo:
    finished = started + timedelta(minutes=5) if status == "succeeded" else None
    return RunInfo(
        run_id,
        "test",
        status,
        "publish",
        date(2018, 7, 12),
        started,
        started,
        None,
        finished,
        None,
        None,
        counts,
        **kw,  # type: ignore[arg-type]
    )


def _store_with_base() -> FakeStore:
    store = FakeStore(now=T1)
    records = {"orr": [(f"ORR-{i:04}", "2018-07-11T10:00:00Z") for i in range(200)]}
    store.add_run(_run("base", "succeeded", T0, BASE_COUNTS), records)
    return store


def test_the_fake_plays_the_roles_check_publish_asks_for() -> None:
    store = FakeStore(now=T1)
    assert all(isinstance(store, role) for role in (Clock, RunReader, GateVerdicts, FeedRecordReader))


def test_a_feed_that_fell_past_the_drop_limit_is_refused_and_every_verdict_is_kept(tmp_path: Path) -> None:
    store = _store_with_base()
    counts = BASE_COUNTS | {"ice": FeedCounts(700, 700, 0)}
    store.add_run(_run("now", "running", T1, counts))

    with pytest.raises(PublishRefused) as refused:
        check_publish("now", store, _settings(tmp_path))

    assert refused.value.feeds == ("ice",) and "(last good run base)" in str(refused.value)
    kept = {(c.gate, c.feed): c for c in store.list_gate_checks("now")}
    assert kept[("feed_drop", "ice")].outcome == "refused"
    assert (kept[("feed_drop", "ice")].observed, kept[("feed_drop", "ice")].reference) == (700, 1000)
    assert kept[("feed_drop", "orr")].outcome == "passed" and kept[("feed_drop", "orr")].checked_at == T1
    assert {c.baseline_run_id for c in kept.values()} == {"base"}


def test_an_operator_acceptance_of_the_feed_turns_refused_into_accepted(tmp_path: Path) -> None:
    store = _store_with_base()
    accepted = (Acceptance("now", "ice", "ada", "a facility closed", T1),)
    store.add_run(
        _run("now", "running", T1, BASE_COUNTS | {"ice": FeedCounts(700, 700, 0)}, acceptances=accepted)
    )

    checks = check_publish("now", store, _settings(tmp_path))

    assert {c.outcome for c in checks if c.feed == "ice"} == {"accepted", "passed"}
    assert store.list_gate_checks("now") == sorted(checks, key=lambda c: (c.gate, c.feed))


def test_an_incremental_run_is_told_so_in_the_verdicts_of_the_feeds_it_fetched_that_way(
    tmp_path: Path,
) -> None:
    store = _store_with_base()
    store.add_run(_run("now", "running", T1, BASE_COUNTS, mode="incremental"))

    checks = {(c.gate, c.feed): c for c in check_publish("now", store, _settings(tmp_path))}

    # the base holds ORR records with update times: ORR was fetched incrementally; removals never is
    assert "after an incremental fetch" in checks[("feed_drop", "orr")].detail
    assert "after an incremental fetch" not in checks[("feed_drop", "removals")].detail


def test_a_run_that_ended_while_its_gates_were_checked_fails_and_keeps_no_verdicts(tmp_path: Path) -> None:
    store = _store_with_base()
    store.add_run(_run("now", "running", T1, BASE_COUNTS))
    store.end_run("now")

    with pytest.raises(RunFailedError, match="ended while its publish gates were checked"):
        check_publish("now", store, _settings(tmp_path))
    assert store.list_gate_checks("now") == []
