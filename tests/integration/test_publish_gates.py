"""The publish gates (issue 13 item 3, and item 2's empty removal list) over real HTTP against the
feed simulator, on SQLite and PostgreSQL: a run whose feed shrank against the last good run, or
that quarantined too much of a feed, is refused before publishing with a reason naming the feed
and both numbers, the published export stays the last good one, and the operators are told
(webhook, ``reunify status --check``, metrics); ``reunify run --accept-drop FEED --reason TEXT``
lets a real drop through and the acceptance is kept on the run and shown; a store's first run has
no baseline; an incremental run is held against its feeds' whole state; the acceptances travel
through the store to a publish step run elsewhere."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from personal_data import leaked
from prometheus_client.parser import text_string_to_metric_families
from webhook_receiver import Receiver

from pipeline import run as stages
from pipeline.errors import PublishRefused
from pipeline.gates import AcceptDrop
from pipeline.metrics import render_metrics
from pipeline.ops.check import CRITICAL, check_status
from pipeline.run import run_embedded
from pipeline.settings import Settings
from pipeline.sim.processes import reunify
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import World
from pipeline.store import GateCheck, Store

GATE_NAMES = ("feed_drop", "quarantine_rate")


def _published(store: Store) -> tuple[str | None, list[dict[str, Any]]]:
    """The published run's id and its export, as ``reunify export`` reads them."""
    run = store.latest_succeeded_run()
    return (run.id if run else None), list(store.iter_results())


def _checks(store: Store, run_id: str) -> dict[tuple[str, str], GateCheck]:
    return {(c.gate, c.feed): c for c in store.list_gate_checks(run_id)}


def _refused_run(store: Store, settings: Settings) -> tuple[str, str]:
    """Run once, expecting the gates to refuse it; the run id and the error the caller saw."""
    with pytest.raises(PublishRefused) as refused:
        run_embedded(settings, store, "test")
    assert refused.value.run_id is not None
    return refused.value.run_id, str(refused.value)


def _outcome_metric(store: Store, settings: Settings) -> dict[str, float]:
    text = render_metrics(store, settings)[0].decode()
    (family,) = (f for f in text_string_to_metric_families(text) if f.name == "reunify_last_run_outcome")
    return {s.labels["outcome"]: s.value for s in family.samples}


def test_a_quarantine_flood_is_refused_even_on_a_new_store_whose_first_good_run_has_no_baseline(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], db_url: str
) -> None:
    settings = make_settings(simulator, db_url)
    store = Store(db_url)
    simulator.set_hostile(["orr_quarantine_flood"])  # one child entry in ten without its id

    flooded, error = _refused_run(store, settings)

    run = store.get_run(flooded)
    assert run is not None and run.outcome == "refused"
    orr = run.counts["orr"]
    assert orr.quarantined > 0.05 * orr.fetched
    assert (
        f"orr feed: {orr.quarantined:,} of {orr.fetched:,} records served this run quarantined "
        f"({orr.quarantined / orr.fetched:.1%} > REUNIFY_MAX_QUARANTINE_RATE 5.0%)" in error
    )
    assert "--accept-drop orr --reason TEXT" in error
    assert _published(store) == (None, [])  # nothing was ever published

    # the refused run is no baseline: the next run is still the store's first good one, and with
    # nothing to compare with, even a feed that lost a third of its entries passes
    simulator.set_hostile(["ice_shrunk"])
    first = run_embedded(settings, store, "test")

    checks = _checks(store, first)
    assert sorted({gate for gate, _ in checks}) == sorted(GATE_NAMES)  # every gate, every feed
    assert {c.outcome for c in checks.values()} == {"passed"}
    ice = store.get_run(first).counts["ice"]  # type: ignore[union-attr]
    drop = checks[("feed_drop", "ice")]
    assert (drop.baseline_run_id, drop.reference, drop.measured) == (None, None, None)
    assert drop.observed == ice.valid and "no earlier good run" in drop.detail
    quarantine = checks[("quarantine_rate", "ice")]  # evaluated without a baseline
    assert (quarantine.observed, quarantine.reference) == (ice.quarantined, ice.fetched)


def test_a_shrunk_feed_is_refused_naming_both_counts_the_export_stays_and_operators_are_told(
    simulator: FeedSimulator,
    small_world: World,
    make_settings: Callable[..., Settings],
    db_url: str,
    receiver: Receiver,
) -> None:
    settings = make_settings(simulator, db_url, REUNIFY_NOTIFY_URL=receiver.url)
    store = Store(db_url)
    good = run_embedded(settings, store, "test")
    before = _published(store)
    was = store.get_run(good).counts  # type: ignore[union-attr]

    simulator.set_hostile(["ice_shrunk"])  # the feed pages to a total that agrees: it looks whole
    shrunk, error = _refused_run(store, settings)

    run = store.get_run(shrunk)
    assert run is not None
    now, before_ice = run.counts["ice"].valid, was["ice"].valid
    assert now < 0.8 * before_ice  # the feed did lose over a fifth
    drop = (before_ice - now) / before_ice
    sentence = (
        f"ice feed: {now:,} valid records, {before_ice:,} in the last good run "
        f"(drop {drop:.1%} > REUNIFY_MAX_FEED_DROP 20.0%)"
    )
    assert sentence in error and sentence in (run.error or "")
    assert f"run {shrunk} was not published" in error and "--accept-drop ice --reason TEXT" in error
    assert (run.status, run.outcome, run.stage) == ("failed", "refused", "publish")
    assert _published(store) == before  # the export is the last good one, unchanged

    checks = _checks(store, shrunk)
    ice = checks[("feed_drop", "ice")]
    assert (ice.outcome, ice.observed, ice.reference, ice.baseline_run_id) == (
        "refused",
        now,
        before_ice,
        good,
    )
    assert ice.measured == pytest.approx(drop) and ice.threshold == 0.2
    assert [k for k, c in checks.items() if c.outcome != "passed"] == [("feed_drop", "ice")]

    # the operators are told: the webhook's run_refused with the numbers, the check, the metrics
    (body,) = receiver.bodies
    assert (body["event"], body["run_id"], body["outcome"]) == ("run_refused", shrunk, "refused")
    assert body["gates"] == [
        {
            "gate": "feed_drop",
            "feed": "ice",
            "outcome": "refused",
            "measured": pytest.approx(drop),
            "threshold": 0.2,
            "observed": now,
            "reference": before_ice,
        }
    ]
    assert leaked(small_world, json.dumps(body) + error) == []
    check = check_status(store, 3600.0, 7200.0)
    assert check.code == CRITICAL and f"last run {shrunk} (test) refused in stage publish" in check.message
    assert _outcome_metric(store, settings) == {
        "cancelled": 0.0,
        "failed": 0.0,
        "refused": 1.0,
        "succeeded": 0.0,
    }

    # a removal list of its header only is a well-formed "nobody was ever removed" (issue item 2):
    # after a good run with rows it is a drop of every row
    simulator.set_hostile(["removals_header_only"])
    emptied, error = _refused_run(store, settings)

    assert (
        f"removals feed: 0 valid records, {was['removals'].valid:,} in the last good run "
        "(drop 100.0% > REUNIFY_MAX_FEED_DROP 20.0%)" in error
    )
    assert _checks(store, emptied)[("feed_drop", "removals")].outcome == "refused"
    assert _published(store) == before
    assert [b["event"] for b in receiver.bodies] == ["run_refused", "run_refused"]


def test_an_incremental_run_is_held_against_its_feeds_whole_state_not_the_changes_it_fetched(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], db_url: str
) -> None:
    settings = make_settings(simulator, db_url)
    store = Store(db_url)
    full = run_embedded(settings, store, "test")
    was = store.get_run(full).counts  # type: ignore[union-attr]

    incremental = run_embedded(settings, store, "test", mode="incremental")

    run = store.get_run(incremental)
    assert run is not None and run.outcome == "succeeded"
    checks = _checks(store, incremental)
    for feed in ("orr", "ice", "dna"):  # fetched incrementally: only the latest changes came
        assert run.counts[feed].fetched < 0.8 * was[feed].valid
        check = checks[("feed_drop", feed)]
        assert (check.outcome, check.observed, check.reference) == (
            "passed",
            was[feed].valid,
            was[feed].valid,
        )
        assert "after an incremental fetch" in check.detail
    assert "incremental" not in checks[("feed_drop", "removals")].detail  # always fetched whole


def test_reunify_run_accept_drop_publishes_a_real_drop_and_runs_and_show_tell_who_when_why(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # the CLI end to end on one store; the acceptances' storage is proved on both stores by
    # test_acceptances_travel_through_the_store_to_the_publish_step_of_a_run_through_workers
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    good = run_embedded(settings, store, "test")
    simulator.set_hostile(["ice_shrunk"])
    env = simulator.env() | {"REUNIFY_AS_OF": "2018-07-12", "REUNIFY_DATABASE_URL": settings.database_url}
    why = "ICE moved a third of its detainees to another system (ticket 4711)"

    done = reunify(["run", "--accept-drop", "ice", "--reason", why, "--who", "ana.ops"], env)

    assert done.returncode == 0, done.stderr
    accepted = store.latest_succeeded_run()
    assert accepted is not None and accepted.id != good
    assert f"run {accepted.id} succeeded" in done.stdout
    (acceptance,) = accepted.acceptances
    assert (acceptance.feed, acceptance.who, acceptance.why) == ("ice", "ana.ops", why)
    assert acceptance.accepted_at >= accepted.started_at
    ice = _checks(store, accepted.id)[("feed_drop", "ice")]
    assert (ice.outcome, ice.baseline_run_id) == ("accepted", good) and (ice.measured or 0) > 0.2
    line = f"ice drop accepted by ana.ops at {acceptance.accepted_at:%Y-%m-%d %H:%M:%S} UTC: {why}"
    assert line in done.stdout

    runs = reunify(["runs"], env)
    assert runs.returncode == 0, runs.stderr
    assert f"run {accepted.id}: {line}" in runs.stdout
    shown = reunify(["show", accepted.id], env)
    assert shown.returncode == 0, shown.stderr
    assert f"run {accepted.id}: succeeded" in shown.stdout and line in shown.stdout
    assert f"against the last good run {good}" in shown.stdout
    assert re.search(r"feed_drop\s+ice\s+accepted\s+\d+\.\d%\s+20\.0%\s+ice feed: ", shown.stdout), (
        shown.stdout
    )


class Worker:
    """Stands in for the broker and the workers: runs each step sent, in the order sent, as the
    Celery tasks do (``workers.tasks``), on its own connection to the store."""

    def __init__(self, settings: Settings, db_url: str) -> None:
        self.settings, self.store = settings, Store(db_url)
        self.queue: deque[tuple[str, str]] = deque()

    def __call__(self, run_id: str, steps: Sequence[str]) -> None:
        self.queue.extend((run_id, step) for step in steps)

    def body(self, run_id: str, step: str) -> Callable[[stages.Heartbeat], Any]:
        stage, _, arg = step.partition(":")
        store, settings = self.store, self.settings
        bodies: dict[str, Callable[[stages.Heartbeat], Any]] = {
            stages.FETCH: lambda beat: stages.fetch_feed(run_id, arg, settings, store, check=beat.check),
            stages.PREPARE: lambda beat: stages.prepare_run(run_id, store, beat.check),
            stages.MATCH: lambda beat: stages.match_partition(run_id, int(arg or 0), store, beat.check),
            stages.FINISH: lambda beat: stages.finish_run(run_id, store, beat.check),
            stages.PUBLISH: lambda beat: stages.publish_step(run_id, settings, store, beat.check),
        }
        return bodies[stage]

    def work(self) -> None:
        while self.queue:
            run_id, step = self.queue.popleft()
            stages.execute_step(run_id, step, self.settings, self.store, self.body(run_id, step), self)


def test_acceptances_travel_through_the_store_to_the_publish_step_of_a_run_through_workers(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], db_url: str
) -> None:
    settings = make_settings(simulator, db_url, REUNIFY_MATCH_PARTITIONS="1")
    store = Store(db_url)
    worker = Worker(settings, db_url)
    good = run_embedded(settings, store, "test")
    simulator.set_hostile(["ice_shrunk"])

    refused = stages.start_distributed(store, settings, "test", worker)
    worker.work()
    accepted = stages.start_distributed(
        store, settings, "test", worker, accept=[AcceptDrop("ice", "ana.ops", "a real drop")]
    )
    worker.work()

    outcomes = {run_id: store.get_run(run_id).outcome for run_id in (good, refused, accepted)}  # type: ignore[union-attr]
    assert outcomes == {good: "succeeded", refused: "refused", accepted: "succeeded"}
    assert "ice feed: " in (store.get_run(refused).error or "")  # type: ignore[union-attr]
    assert _checks(store, refused)[("feed_drop", "ice")].outcome == "refused"
    assert _checks(store, accepted)[("feed_drop", "ice")].outcome == "accepted"
    assert store.latest_succeeded_run().id == accepted  # type: ignore[union-attr]
