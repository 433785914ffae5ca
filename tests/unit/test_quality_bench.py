"""bench/quality.py's figures (calibration, review coverage, stability) and the world profiles."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.sim.profiles import rates_for
from pipeline.sim.world import Rates, generate_world, mutate_world

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout, for bench/
from bench.quality import _unchanged_children, calibration, review_coverage, stability_of


def _obj(cid: str, parent: str | None, score: float = 1.0, review: bool = False) -> dict[str, Any]:
    p = {"ice_record_ids": [parent], "removal_record_ids": [], "match_score": score} if parent else None
    return {
        "child_record_ids": [cid],
        "cohort": "5_and_over",
        "status": "eligible" if parent else "no_parent_match",
        "parent": p,
        "parent_location": {"state": "in_ice_custody", "resolved": True},
        "needs_review": review,
    }


def _truth(cid: str, parent: str | None) -> dict[str, Any]:
    p = {"ice_record_ids": [parent], "removal_record_ids": []} if parent else None
    return {"child_record_ids": [cid], "parent": p}


def test_calibration_counts_right_links_per_band_and_weighs_the_gaps() -> None:
    export = [_obj("C1", "A1", 0.85), _obj("C2", "A9", 0.87), _obj("C3", "A3", 0.999), _obj("C4", None)]
    truth = [_truth("C1", "A1"), _truth("C2", "A2"), _truth("C3", "A3"), _truth("C4", "A4")]
    bands, ece = calibration(export, truth)
    by = {(b.low, b.links): b for b in bands}
    assert by[(0.8, 2)].accuracy == 0.5 and by[(0.8, 2)].mean_score == pytest.approx(0.86)
    assert by[(0.99, 1)].accuracy == 1.0
    assert ece == pytest.approx((2 * 0.36 + 1 * 0.001) / 3)


def test_review_coverage_counts_wrong_and_missed_links_in_the_queue() -> None:
    export = [
        _obj("C1", "A9", 0.999, review=True),  # wrong, flagged
        _obj("C2", "A9", 0.999),  # wrong, not queued
        _obj("C3", None, review=True),  # missed, flagged
        _obj("C4", "A4", 0.9),  # right, queued by its score
    ]
    truth = [_truth("C1", "A1"), _truth("C2", "A2"), _truth("C3", "A3"), _truth("C4", "A4")]
    cov = review_coverage(export, truth)
    assert (cov["wrong_links"], cov["wrong_in_queue"], cov["missed_links"], cov["missed_in_queue"]) == (
        2,
        1,
        1,
        1,
    )
    assert cov["coverage"] == pytest.approx(2 / 3, abs=1e-4)
    assert cov["queue_size"] == 3


def test_stability_counts_unchanged_children_whose_link_or_status_moved() -> None:
    world = generate_world(60, seed=2)
    later = mutate_world(world, 0.05, 3)
    # exports that are the truth itself: only what the truth says changed, changes
    export, export_later = world.truth, [dict(t) for t in later.truth]
    s = stability_of(world, later, export, export_later)
    assert 0 < s["unchanged_children"] < len(later.truth)  # a 5% change touches some children
    assert s["changed"] == 0
    unchanged = {tuple(t["child_record_ids"]) for t in _unchanged_children(world, later)}
    victim = next(t for t in export_later if tuple(t["child_record_ids"]) in unchanged)
    victim["status"] = "not_a_parent" if victim["status"] != "not_a_parent" else "eligible"
    moved = stability_of(world, later, export, export_later)
    assert (moved["changed"], moved["status_changed"], moved["link_changed"]) == (1, 1, 0)


def test_profiles_default_is_the_sample_mix_and_unknown_names_are_refused() -> None:
    assert rates_for("default") == Rates()
    assert rates_for("hard") != Rates()
    with pytest.raises(ConfigError, match="hard"):
        rates_for("nope")
    a = generate_world(60, seed=1)
    b = generate_world(60, seed=1, rates=rates_for("default"))
    assert a.orr == b.orr and a.ice == b.ice
