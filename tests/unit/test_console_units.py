"""Small pure parts of the console: the waterfall's arithmetic, the search's terms, roles, redirects."""

from __future__ import annotations

import pytest

from pipeline.store.browse import search_terms
from pipeline.web import waterfall
from pipeline.web.pages import _safe_next
from pipeline.web.roles import allows


def test_the_waterfall_stacks_each_weight_and_ends_at_the_posteriors_log_odds() -> None:
    evidence = ["same apprehension date (+5.3)", "different stations (-1.2)", "DNA match (decisive)"]
    bars, notes = waterfall.bars(evidence, 0.9)
    assert [b.weight for b in bars[:2]] == [5.3, -1.2]
    assert bars[1].start == pytest.approx(5.3) and bars[1].end == pytest.approx(4.1)
    assert bars[-2].end == pytest.approx(waterfall.log_odds(0.9))  # the rest closes the gap
    assert bars[-1].kind == "posterior" and bars[-1].end == pytest.approx(waterfall.log_odds(0.9))
    assert notes == ["DNA match (decisive)"]


def test_the_waterfall_escapes_evidence_text() -> None:
    svg = waterfall.render(["<script>x</script> (+1.0)"], 0.5)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


@pytest.mark.parametrize(
    ("typed", "terms"),
    [
        ("A-216-707-355", ["216707355"]),
        ("216 707 355", ["216707355"]),
        ("orr-0001929", ["ORR-0001929"]),
        ("López  garcía", ["LOPEZ", "GARCIA"]),
    ],
)
def test_search_terms_are_an_a_number_a_record_id_or_folded_name_tokens(typed: str, terms: list[str]) -> None:
    assert search_terms(typed) == terms


def test_each_role_allows_what_the_roles_below_it_do() -> None:
    assert allows("admin", "caseworker") and allows("caseworker", "viewer")
    assert not allows("viewer", "caseworker") and not allows("caseworker", "admin")
    assert not allows("root", "viewer")


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil.example", "", "x"])
def test_login_never_redirects_off_the_site(target: str) -> None:
    assert _safe_next(target) == "/"


def test_login_redirects_to_a_path_of_the_site() -> None:
    assert _safe_next("/children/ORR-1") == "/children/ORR-1"
