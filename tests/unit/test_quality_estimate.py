"""The precision estimate's arithmetic: the Wilson score interval and the verdicts a ±2%
interval needs (n = z² p (1 - p) / 0.02²)."""

from __future__ import annotations

import pytest

from pipeline.ops.quality import verdicts_needed, wilson
from pipeline.store.quality import confident_link, sample_size


def test_the_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson(98, 100)
    assert low == pytest.approx(0.9300, abs=1e-4) and high == pytest.approx(0.9945, abs=1e-4)
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)


def test_the_wilson_interval_stays_inside_zero_and_one_at_the_edges() -> None:
    low, high = wilson(20, 20)
    assert high == 1.0 and 0.8 < low < 0.85
    assert wilson(0, 20)[0] == 0.0
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_the_interval_narrows_as_verdicts_come_in() -> None:
    widths = [wilson(round(0.98 * n), n)[1] - wilson(round(0.98 * n), n)[0] for n in (50, 200, 800)]
    assert widths == sorted(widths, reverse=True)


def test_a_two_percent_interval_needs_189_verdicts_at_98_percent_and_2401_at_worst() -> None:
    assert verdicts_needed(0.98) == 189  # 1.96² · 0.98 · 0.02 / 0.02² = 188.2, rounded up
    assert verdicts_needed(None) == verdicts_needed(0.5) == 2401
    assert verdicts_needed(0.9) == 865


def test_only_confident_unflagged_links_are_sampled() -> None:
    parent = {"ice_record_ids": ["ICE-1"], "removal_record_ids": ["RM-1"], "match_score": 0.97}
    assert confident_link({"parent": parent, "status": "eligible"}) == "ICE-1"
    assert confident_link({"parent": parent | {"match_score": 0.9}, "status": "eligible"}) is None
    assert confident_link({"parent": parent, "status": "eligible", "needs_review": True}) is None
    assert confident_link({"parent": parent, "status": "not_a_parent"}) is None
    assert confident_link({"parent": None, "status": "no_parent_match"}) is None


def test_the_sample_size_rounds_the_share_and_keeps_one() -> None:
    assert (sample_size(1000, 0.02), sample_size(10, 0.02), sample_size(0, 0.5), sample_size(5, 0)) == (
        20,
        1,
        0,
        0,
    )
    assert sample_size(3, 1.0) == 3
