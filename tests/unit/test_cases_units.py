"""Case work's pure parts: grouping a run's children by the person a case follows, the figure
buckets, the list's deadline filter, the vocabularies the migration froze, the lists' CSV cells."""

from __future__ import annotations

import importlib
import io
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.ops.cases import bucket_of, case_filter, cohort_order
from pipeline.ops.export import write_table_csv
from pipeline.settings import load_settings
from pipeline.store import schema
from pipeline.store.cases import group_children

RANK = {"under_5": 0, "5_and_over": 1, "unknown": 2}


def _r(
    ids: list[str], status: str, ice: list[str] | None = None, cohort: str = "5_and_over", **loc: Any
) -> dict[str, Any]:
    parent = {"ice_record_ids": ice, "removal_record_ids": []} if ice else None
    location = {"state": "released", "resolved": False, "days_unresolved": 4} | loc
    return {
        "child_record_ids": ids,
        "status": status,
        "cohort": cohort,
        "parent": parent,
        "parent_location": location,
    }


def test_siblings_are_one_group_and_an_excluded_adult_is_a_parent_to_find() -> None:
    a = _r(["ORR-2"], "parent_released", ["ICE-1"])
    b = _r(["ORR-1"], "parent_released", ["ICE-1"], cohort="under_5")
    excluded = _r(["ORR-3"], "not_a_parent", ["ICE-9"], state="unknown")
    done = _r(["ORR-4"], "reunified", ["ICE-4"], state="with_child", resolved=True)
    groups = group_children([a, b, excluded, done], {"ORR-1": ("TX-1", "Shelter", "2018-06-01|")})
    by_kind = {(g.kind, g.parent_key): g for g in groups}
    siblings = by_kind[("parent", "ICE-1")]
    assert [c.key for c in siblings.children] == ["ORR-1", "ORR-2"] and siblings.in_list
    assert siblings.figures(RANK)["cohort"] == "under_5"  # the most urgent child's cohort
    assert siblings.children[0].facility == "TX-1"
    (to_find,) = [g for g in groups if g.kind == "find_parent"]
    assert to_find.ids == {"orr:ORR-3"} and to_find.in_list
    assert not by_kind[("parent", "ICE-4")].in_list  # reunified: no case work


def test_every_case_falls_in_one_bucket() -> None:
    assert bucket_of(False, False, None) == "not_contacted"
    assert bucket_of(True, False, None) == "not_reached"
    assert bucket_of(True, True, None) == "reached_undecided"
    assert bucket_of(True, False, "undecided") == "reached_undecided"
    assert bucket_of(True, True, "reunify") == "wishes_reunification"
    assert bucket_of(True, False, "waive") == "waives_reunification"


def test_the_deadline_filter_keeps_the_cohorts_due_within_the_days(tmp_path: Path) -> None:
    settings = load_settings({}, config_file=tmp_path / "none.toml")
    as_of = date(2018, 7, 12)  # under_5 due 2018-07-10 (passed), 5_and_over 2018-07-26
    assert cohort_order(settings, as_of)[:2] == ["under_5", "5_and_over"]
    assert case_filter({"days": "0"}, settings, as_of).cohorts == ("under_5",)
    assert case_filter({"days": "30"}, settings, as_of).cohorts == ("under_5", "5_and_over")
    assert case_filter({"days": "30", "cohort": "5_and_over"}, settings, as_of).cohorts == ("5_and_over",)
    assert case_filter({}, settings, as_of).cohorts is None


def test_the_migration_froze_the_vocabularies_the_schema_declares() -> None:
    m = importlib.import_module("pipeline.store.migrations.versions.0008_cases")
    assert tuple(schema.CASE_KINDS) == m._KINDS
    assert tuple(schema.CASE_STATES) == m._STATES
    assert tuple(schema.CONTACT_CHANNELS) == m._CHANNELS
    assert tuple(schema.CONTACT_LANGUAGES) == m._LANGUAGES
    assert tuple(schema.CONTACT_OUTCOMES) == m._OUTCOMES
    assert tuple(schema.STATED_WISHES) == m._WISHES


def test_a_lists_text_cells_never_start_a_formula_and_numbers_stay_numbers() -> None:
    out = io.StringIO()
    write_table_csv(("name", "days"), [["=HYPERLINK(1)", -3]], out)
    assert out.getvalue().splitlines()[1] == '"\'=HYPERLINK(1)",-3'
