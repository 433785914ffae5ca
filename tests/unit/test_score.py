"""The scorer: perfect on the truth itself, and the right lower numbers for planted mistakes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipeline.sim.score import score
from pipeline.sim.world import generate_world


@pytest.fixture(scope="module")
def truth() -> list[dict[str, Any]]:
    return generate_world(300, seed=5).truth


def _linked(truth: list[dict[str, Any]]) -> list[int]:
    return [i for i, obj in enumerate(truth) if obj["parent"]]


def test_truth_against_itself_is_perfect(truth: list[dict[str, Any]]) -> None:
    s = score(truth, truth)
    for name in (
        "link_precision",
        "link_recall",
        "link_f1",
        "dedup_precision",
        "dedup_recall",
        "dedup_f1",
        "status_accuracy",
        "cohort_accuracy",
        "unresolved_precision",
        "unresolved_recall",
        "unresolved_f1",
    ):
        assert getattr(s, name) == 1.0, name
    assert (s.missing_children, s.duplicated_children, s.unexpected_record_ids) == (0, 0, 0)
    assert s.children == s.exported_objects == len(truth)
    assert "link_f1" in s.as_table() and s.as_dict()["status_accuracy"] == 1.0


def test_a_wrong_link_lowers_link_precision_and_recall(truth: list[dict[str, Any]]) -> None:
    export = copy.deepcopy(truth)
    linked = _linked(truth)
    a = linked[0]
    # b: a child of another parent (not a sibling of a)
    b = next(i for i in linked if truth[i]["parent"] != truth[a]["parent"])
    export[a]["parent"] = copy.deepcopy(truth[b]["parent"])
    s = score(export, truth)
    n = len(_linked(truth))
    assert s.links_predicted == n and s.links_correct == n - 1
    assert s.link_precision == pytest.approx((n - 1) / n)
    assert s.link_recall == pytest.approx((n - 1) / n)
    assert s.status_accuracy == 1.0


def test_a_link_where_there_is_none_lowers_precision_only(truth: list[dict[str, Any]]) -> None:
    export = copy.deepcopy(truth)
    orphan = next(i for i, obj in enumerate(truth) if obj["parent"] is None)
    export[orphan]["parent"] = copy.deepcopy(truth[_linked(truth)[0]]["parent"])
    s = score(export, truth)
    n = len(_linked(truth))
    assert s.link_precision == pytest.approx(n / (n + 1))
    assert s.link_recall == 1.0


def test_a_missing_child(truth: list[dict[str, Any]]) -> None:
    gone = _linked(truth)[3]
    export = [obj for i, obj in enumerate(truth) if i != gone]
    s = score(export, truth)
    n = len(truth)
    assert s.missing_children == 1
    assert s.status_accuracy == pytest.approx((n - 1) / n)
    assert s.link_recall == pytest.approx((len(_linked(truth)) - 1) / len(_linked(truth)))
    assert s.link_precision == 1.0


def test_a_child_exported_twice(truth: list[dict[str, Any]]) -> None:
    export = [*copy.deepcopy(truth), copy.deepcopy(truth[0])]
    s = score(export, truth)
    assert s.duplicated_children == 1 and s.exported_objects == len(truth) + 1
    assert s.status_accuracy == 1.0


def test_split_and_merged_children_lower_dedup_recall_and_precision(truth: list[dict[str, Any]]) -> None:
    multi = next(i for i, obj in enumerate(truth) if len(obj["child_record_ids"]) > 1)
    export = copy.deepcopy(truth)
    first, *rest = truth[multi]["child_record_ids"]
    export[multi]["child_record_ids"] = [first]
    export.append({**copy.deepcopy(truth[multi]), "child_record_ids": rest})
    s = score(export, truth)
    assert s.dedup_recall < 1.0 and s.dedup_precision == 1.0 and s.duplicated_children == 1

    merged = copy.deepcopy(truth)
    merged[0]["child_record_ids"] = truth[0]["child_record_ids"] + truth[1]["child_record_ids"]
    del merged[1]
    s = score(merged, truth)
    assert s.dedup_precision < 1.0 and s.dedup_recall == 1.0


def test_unexpected_ids_and_either_cohort(truth: list[dict[str, Any]]) -> None:
    export = copy.deepcopy(truth)
    export.append({"child_record_ids": ["ORR-9000001"], "status": "no_parent_match", "parent": None})
    s = score(export, truth)
    assert s.unexpected_record_ids == 1
    both = copy.deepcopy(truth)
    both[0]["cohort"] = ["5_and_over", "under_5"]
    export = copy.deepcopy(truth)
    export[0]["cohort"] = "under_5"
    assert score(export, both).cohort_accuracy == 1.0


def test_unresolved_location_scores(truth: list[dict[str, Any]]) -> None:
    export = copy.deepcopy(truth)
    resolved = next(i for i, obj in enumerate(truth) if obj["parent_location"]["resolved"])
    export[resolved]["parent_location"] = {"state": "released", "resolved": False}
    s = score(export, truth)
    assert s.unresolved_recall == 1.0 and s.unresolved_precision < 1.0
