"""Dates that cannot be evidence, served over real HTTP (issue 13, item 8): a date of birth after
the report date or before 1900, a custody ``as_of``, removal date or separation after it. The run
succeeds, takes each such field as unknown (its results are those of the same feeds with the
field null), and ``reunify discrepancies`` lists each by record id and field, never its value."""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery_harness import reunify

from pipeline import normalise
from pipeline.ops.discrepancies import find_discrepancies
from pipeline.run import run_embedded
from pipeline.settings import Settings
from pipeline.sim.hostile import IMPOSSIBLE_DATE_MODES, apply_data_modes
from pipeline.sim.payloads import WorldPayloads
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import World
from pipeline.store import Store

ID_KEYS = {"orr": "childId", "ice": "subject_id"}
# (feed, record id) -> the fields the modes changed, by their dotted path in the raw record
Planted = dict[tuple[str, str], list[str]]


def _changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            p
            for k in sorted(old.keys() | new.keys())
            for p in _changed_paths(old.get(k), new.get(k), f"{prefix}{k}.")
        ]
    return [prefix[:-1]] if old != new else []


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _planted(clean: WorldPayloads, hostile: WorldPayloads) -> Planted:
    """What the hostile modes changed, found by comparing the payloads (not by asking the modes)."""
    out: Planted = {}
    for feed, key in ID_KEYS.items():
        for old, new in zip(getattr(clean, feed), getattr(hostile, feed), strict=True):
            if old != new:
                out[(feed, new[key])] = _changed_paths(old, new)
    old_rows, new_rows = _rows(clean.removals_csv), _rows(hostile.removals_csv)
    header = old_rows[0]
    for old_row, new_row in zip(old_rows, new_rows, strict=True):
        if old_row != new_row:
            out[("removals", new_row[0])] = [
                header[i] for i, (a, b) in enumerate(zip(old_row, new_row, strict=True)) if a != b
            ]
    return out


def _raw(payloads: WorldPayloads, feed: str, record_id: str) -> dict[str, Any]:
    return next(
        r for r in getattr(payloads, feed) if isinstance(r, dict) and r.get(ID_KEYS[feed]) == record_id
    )


def _nulled(hostile: WorldPayloads, planted: Planted) -> WorldPayloads:
    """The hostile payloads with every planted JSON field null (unknown). A removal row must carry
    its REMOVAL_DATE (the contract's parser quarantines a row without one): it stays as served."""
    out = copy.deepcopy(hostile)
    for (feed, record_id), paths in planted.items():
        if feed == "removals":
            continue
        raw = _raw(out, feed, record_id)
        for path in paths:
            *parents, leaf = path.split(".")
            node = raw
            for part in parents:
                node = node[part]
            node[leaf] = None
    return out


def _comparable(store: Store) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "run_id"} for row in store.iter_results()]


def test_impossible_dates_are_taken_as_unknown_and_listed_by_discrepancies(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    clean = small_world.to_payloads()
    hostile = apply_data_modes(clean, IMPOSSIBLE_DATE_MODES)
    planted = _planted(clean, hostile)
    fields = {path for paths in planted.values() for path in paths}
    assert fields == {
        "dateOfBirth",
        "birth_date",
        "custody.as_of",
        "REMOVAL_DATE",
        "admittedAt",
        "apprehension.date",
    }

    simulator.set_hostile(IMPOSSIBLE_DATE_MODES)
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    run_embedded(settings, store, "test")  # raises if the run fails
    results = _comparable(store)
    as_of = settings.as_of.isoformat()
    for row in results:
        loc = row["parent_location"]
        assert row["age_years"] is None or row["age_years"] >= 0, row["child_record_ids"]
        assert row["date_of_birth"] is None or "1900-01-01" <= row["date_of_birth"] <= as_of
        assert loc["days_unresolved"] is None or loc["days_unresolved"] >= 0, row["child_record_ids"]
        assert loc["since"] is None or loc["since"] <= as_of, row["child_record_ids"]

    # as if unknown: the same feeds with those fields null give exactly the same results
    simulator.set_hostile([])
    simulator.set_payloads(_nulled(hostile, planted))
    oracle = Store(f"sqlite:///{tmp_path / 'unknown.sqlite3'}")
    run_embedded(settings.with_overrides(database_url=oracle.url), oracle, "test")
    assert results == _comparable(oracle)

    # the parents whose location another record still fixes keep the world's true status
    truth = {cid: t["status"] for t in small_world.truth for cid in t["child_record_ids"]}
    for (feed, record_id), paths in planted.items():
        if paths in (["custody.as_of"], ["REMOVAL_DATE"]):
            side = "ice_record_ids" if feed == "ice" else "removal_record_ids"
            family = [r for r in results if r["parent"] and record_id in r["parent"][side]]
            assert family, f"no child linked to {record_id}"
            for row in family:
                assert row["status"] == truth[row["child_record_ids"][0]] == "parent_removed"
                assert row["parent_location"]["since"] is not None

    # listed: which record, which field, why; no value, no name
    _, found = find_discrepancies(store, None, settings.clock_skew_seconds)
    impossible = sorted(d.detail.split(" is ")[0] for d in found if d.kind == "impossible_date")
    assert impossible == sorted(
        f"{feed} record {rid}: {path}" for (feed, rid), paths in planted.items() for path in paths
    )
    env = simulator.env() | {"REUNIFY_AS_OF": as_of, "REUNIFY_DATABASE_URL": settings.database_url}
    done = reunify(["discrepancies"], env)
    assert done.returncode == 0, done.stderr
    assert f"impossible_date: {len(impossible)}" in done.stdout
    for (feed, rid), paths in planted.items():
        assert rid in done.stdout
        if feed == "removals":
            continue
        raw = _raw(hostile, feed, rid)
        first, last = (
            raw.get(k) for k in (("firstName", "lastName") if feed == "orr" else ("first_name", "last_name"))
        )
        assert f" {normalise.fold(f'{first} {last}')} " not in f" {normalise.fold(done.stdout)} ", (
            f"{rid}'s name"
        )
        for path in paths:
            value = raw
            for part in path.split("."):
                value = value[part]
            assert str(value) not in done.stdout, f"the raw {path} of {rid} is printed"
