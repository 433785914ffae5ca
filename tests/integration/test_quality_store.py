"""The quality sample in the store, on SQLite and PostgreSQL: a published run's confident links
drawn at random in the configured share (never a flagged, excluded or weak link), and the
reviewers' verdicts, the latest per link, counted for the precision estimate."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from pipeline.errors import NotFoundError, StoreError
from pipeline.ops.quality import estimate
from pipeline.store import Store

AS_OF = date(2018, 7, 12)


def _result(i: int, score: float, needs_review: bool = False, status: str = "eligible") -> dict[str, Any]:
    return {
        "child_record_ids": [f"ORR-{i:07d}"],
        "status": status,
        "cohort": "5_and_over",
        "needs_review": needs_review,
        "parent": {"ice_record_ids": [f"ICE-{i:08d}"], "removal_record_ids": [], "match_score": score},
    }


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def _published(store: Store) -> str:
    run_id = store.start_run("test", AS_OF)
    confident = [_result(i, 0.99) for i in range(200)]
    others = [
        _result(900, 0.5),
        _result(901, 0.99, needs_review=True),
        _result(902, 1.0, status="not_a_parent"),
        {
            "child_record_ids": ["ORR-0000999"],
            "status": "no_parent_match",
            "cohort": "unknown",
            "needs_review": False,
            "parent": None,
        },
    ]
    store.save_results(run_id, confident + others)
    store.mark_succeeded(run_id)
    return run_id


def test_the_sample_is_the_share_of_the_confident_links_only(store: Store) -> None:
    run_id = _published(store)
    assert store.draw_quality_sample(run_id, 0.05, random.Random(1)) == 10
    sample = store.quality_sample(run_id)
    assert len(sample) == 10 and len({s.child_key for s in sample}) == 10
    assert all(s.match_score >= 0.95 and s.child_key < "ORR-0000900" for s in sample)
    assert all(s.adult_key == "ICE-0" + s.child_key[4:] for s in sample)
    # random: another draw takes other links (the same seed, the same ones)
    assert store.draw_quality_sample(run_id, 0.05, random.Random(2)) == 10
    other = {s.child_key for s in store.quality_sample(run_id)}
    assert other != {s.child_key for s in sample} and len(store.quality_sample(run_id)) == 10
    store.draw_quality_sample(run_id, 0.05, random.Random(1))
    assert [s.child_key for s in store.quality_sample(run_id)] == [s.child_key for s in sample]


def test_a_tiny_share_still_draws_one_and_none_draws_none(store: Store) -> None:
    run_id = _published(store)
    assert store.draw_quality_sample(run_id, 0.0001) == 1
    assert store.draw_quality_sample(run_id, 0.0) == 0 and store.quality_sample(run_id) == []


def test_verdicts_count_the_latest_per_link_into_the_estimate(store: Store) -> None:
    run_id = _published(store)
    store.draw_quality_sample(run_id, 0.02, random.Random(3))
    a, b, c, d = (s.child_key for s in store.quality_sample(run_id))
    for key in (a, b, c):
        store.add_quality_verdict(run_id, key, "correct", "carl")
    store.add_quality_verdict(run_id, d, "correct", "carl")
    store.add_quality_verdict(run_id, d, "wrong", "ada", "the parent's DNA came back negative")
    assert store.quality_verdict_counts() == (3, 4)
    by_child = {s.child_key: s for s in store.quality_sample(run_id)}
    assert (by_child[d].verdict, by_child[d].who) == ("wrong", "ada")
    est = estimate(store)
    assert (est.correct, est.verdicts, est.precision) == (3, 4, 0.75)
    assert 0.0 < est.low < 0.75 < est.high <= 1.0 and est.more_needed == est.needed - 4


def test_a_verdict_outside_the_sample_or_the_vocabulary_is_refused(store: Store) -> None:
    run_id = _published(store)
    store.draw_quality_sample(run_id, 0.01, random.Random(4))
    key = store.quality_sample(run_id)[0].child_key
    with pytest.raises(StoreError, match="correct, wrong"):
        store.add_quality_verdict(run_id, key, "maybe", "carl")
    with pytest.raises(NotFoundError):
        store.add_quality_verdict(run_id, "ORR-0000900", "correct", "carl")
    assert store.quality_verdict_counts() == (0, 0)
