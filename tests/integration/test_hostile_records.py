"""Hostile records over real HTTP: one bad record never stops a run, on either store (issue 13,
items 5-7). Each data mode of the simulator's records section adds altered copies of a few of the
world's own records; a run quarantines each copy with its reason and its payload as served, and
publishes exactly what it publishes without the mode."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.errors import RunFailedError
from pipeline.feeds.validate import TOO_DEEP
from pipeline.records import MAX_RECORD_ID_CHARS, Quarantined
from pipeline.run import run_embedded
from pipeline.settings import Settings
from pipeline.sim.hostile import HUGE_NAME_TOKENS, ID_FIELDS, apply_data_modes, huge_name
from pipeline.sim.payloads import RawRecord, WorldPayloads
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import World
from pipeline.store import RunInfo, Store

UNSTORABLE = [
    "record_id_nul",
    "record_id_too_long",
    "record_id_control",
    "record_name_nul",
    "record_name_surrogate",
]
NUL, SURROGATE = "holds a NUL character", "holds a lone surrogate (not valid Unicode)"
TOO_LONG = f"is longer than {MAX_RECORD_ID_CHARS} characters"
CONTROL = "holds a control or invisible formatting character"


def published(store: Store, run_id: str) -> list[dict[str, Any]]:
    """A run's published results, without the run id they carry."""
    return [{k: v for k, v in result.items() if k != "run_id"} for result in store.iter_results(run_id)]


def added_records(world: World, modes: list[str]) -> dict[str, list[Any]]:
    """Per feed, the records the modes add to the world's payloads (CSV rows as dicts)."""
    before, after = world.to_payloads(), apply_data_modes(world.to_payloads(), modes)

    def rows(payloads: WorldPayloads) -> list[dict[str, Any]]:
        return list(csv.DictReader(io.StringIO(payloads.removals_csv, newline="")))

    out = {feed: getattr(after, feed)[len(getattr(before, feed)) :] for feed in ("orr", "ice", "dna")}
    out["removals"] = rows(after)[len(rows(before)) :]
    return {feed: records for feed, records in out.items() if records}


def new_in_quarantine(store: Store, clean: str, hostile: str) -> list[Quarantined]:
    """What the hostile run quarantined that the clean run did not."""
    left = list(store.list_quarantine(clean))
    out = []
    for item in store.list_quarantine(hostile):
        if item in left:
            left.remove(item)
        else:
            out.append(item)
    return out


def as_served(record: Any) -> Any:
    """What a quarantined payload decodes to for a record the simulator served."""
    return record.text if isinstance(record, RawRecord) else record


def canonical(values: list[Any]) -> list[str]:
    return sorted(json.dumps(v, sort_keys=True) for v in values)


def clean_then_hostile(
    simulator: FeedSimulator, settings: Settings, store: Store, modes: list[str]
) -> tuple[RunInfo, RunInfo]:
    """A run of the world as it is, then one with the modes on; both runs as the store has them."""
    clean = run_embedded(settings, store, "test")
    simulator.set_hostile(modes)
    hostile = run_embedded(settings, store, "test")
    runs = store.get_run(clean), store.get_run(hostile)
    assert runs[0] is not None and runs[1] is not None
    return runs[0], runs[1]


def assert_set_aside(clean: RunInfo, hostile: RunInfo, quarantined: dict[str, int]) -> None:
    """The hostile run kept every record the clean run kept and quarantined these many more."""
    assert hostile.status == "succeeded", hostile.error
    for feed, counts in clean.counts.items():
        extra = quarantined.get(feed, 0)
        got = hostile.counts[feed]
        assert (got.fetched, got.valid, got.quarantined) == (
            counts.fetched + extra,
            counts.valid,
            counts.quarantined + extra,
        ), feed


def test_records_whose_ids_or_names_no_store_keeps_as_text_are_quarantined_and_the_run_publishes(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings], db_url: str
) -> None:
    store = Store(db_url)
    clean, hostile = clean_then_hostile(simulator, make_settings(simulator, db_url), store, UNSTORABLE)

    added = added_records(small_world, UNSTORABLE)
    assert_set_aside(clean, hostile, {feed: len(records) for feed, records in added.items()})
    assert published(store, hostile.id) == published(store, clean.id)
    new = new_in_quarantine(store, clean.id, hostile.id)
    assert sorted((q.feed, q.reason, q.record_id is None) for q in new) == sorted(
        [
            ("orr", f"childId {NUL}", True),
            ("orr", f"childId {TOO_LONG}", True),
            ("orr", f"firstName {NUL}", False),
            ("orr", f"lastName {SURROGATE}", False),
            ("ice", f"subject_id {NUL}", True),
            ("ice", f"subject_id {TOO_LONG}", True),
            ("ice", f"last_name {NUL}", False),
            ("ice", f"first_name {SURROGATE}", False),
            ("removals", f"REMOVAL_ID {NUL}", True),
            ("removals", f"REMOVAL_ID {TOO_LONG}", True),
            ("removals", f"FIRST_NAME {NUL}", False),
            ("dna", f"case_id {NUL}", True),
            ("dna", f"case_id {TOO_LONG}", True),
            *((feed, f"{key} {CONTROL}", True) for feed, key in ID_FIELDS.items()),
        ]
    )
    # each payload is the record as served, NUL and lone surrogates included
    for feed, records in added.items():
        assert canonical([json.loads(q.payload) for q in new if q.feed == feed]) == canonical(records)
    store.close()


def test_records_nested_past_the_decoders_limit_are_quarantined_and_the_run_publishes(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings], db_url: str
) -> None:
    store = Store(db_url)
    modes = ["record_nested_deep"]
    clean, hostile = clean_then_hostile(simulator, make_settings(simulator, db_url), store, modes)

    added = added_records(small_world, modes)
    assert {feed: len(records) for feed, records in added.items()} == {"orr": 2, "ice": 1}
    assert_set_aside(clean, hostile, {"orr": 2, "ice": 1})
    assert published(store, hostile.id) == published(store, clean.id)
    new = new_in_quarantine(store, clean.id, hostile.id)
    assert {q.reason for q in new} == {TOO_DEEP}
    # the record the decoders read keeps its id; those they could not read are kept as their text
    [decoded] = [q for q in new if q.record_id is not None]
    assert decoded.record_id is not None and decoded.record_id.endswith("-DEEP-300")
    for feed, records in added.items():
        kept = [json.loads(q.payload) for q in new if q.feed == feed]
        assert canonical(kept) == canonical([as_served(r) for r in records])
    store.close()


def test_a_page_that_is_not_json_inside_a_deep_record_fails_its_feed_and_keeps_the_last_results(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    good = run_embedded(settings, store, "test")
    before = published(store, good)

    simulator.set_hostile(["record_nested_deep_broken"])
    with pytest.raises(RunFailedError, match=r"orr feed: children page 1: .*body is not JSON"):
        run_embedded(settings, store, "test")
    assert store.latest_succeeded_run().id == good  # type: ignore[union-attr]
    assert published(store, good) == before
    store.close()


def test_names_of_thousands_of_tokens_are_kept_whole_and_the_run_publishes(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    clean, hostile = clean_then_hostile(simulator, settings, store, ["record_name_huge"])

    assert_set_aside(clean, hostile, {})
    results = published(store, hostile.id)
    assert len(results) == len(published(store, clean.id))
    half = HUGE_NAME_TOKENS // 2
    whole = f"{huge_name(half)} {huge_name(HUGE_NAME_TOKENS - half, half)}"
    [child] = [r for r in results if r["name"] == whole]  # the export keeps the whole name
    assert len(child["name"].split()) == HUGE_NAME_TOKENS
    store.close()
