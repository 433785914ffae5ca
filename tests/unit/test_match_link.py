"""Parent–child linking: event id, ties that go to review, DNA, review decisions."""

from __future__ import annotations

import random
from datetime import date

from factories import AS_OF, adult, child, dna

from pipeline.match.blocking import best_scored
from pipeline.match.link import MAX_CANDIDATES, MAX_RUNNERS_UP
from pipeline.reconcile import prepare, reconcile
from pipeline.records import FeedSnapshot
from pipeline.results import ReviewDecision
from pipeline.sim.hostile import huge_name


def _decoys(n: int = 8) -> list:  # type: ignore[type-arg]
    # unrelated adults sharing the date and station, as real custody rolls do
    names = ["ROSA", "JOSE", "MARTA", "LUIS", "ELVIA", "CARLOS", "GLENDA", "PEDRO", "SONIA", "MARIO"]
    return [
        adult(
            f"ICE-D{i}",
            a_number=f"2{i:08d}",
            first_name=names[i % len(names)],
            last_name="RAMOS CRUZ",
            dob=date(1970 + i, 2, 3),
            sex="F" if i % 2 else "M",
        )
        for i in range(n)
    ]


def test_link_via_shared_event_id() -> None:
    kid = child(event_id="CBP-7", last_name="Pérez Soto", first_name="Lucía")
    parent = adult(
        "ICE-P", a_number="212345678", first_name="JORGE", last_name="PEREZ LOPEZ", event_id="CBP-7"
    )
    [res] = reconcile(FeedSnapshot([kid], [parent, *_decoys()]), AS_OF)
    assert res.parent is not None and res.parent.ice_record_ids == ["ICE-P"]
    assert any("same apprehension event id" in e for e in res.parent.evidence)
    assert res.status == "eligible" and 0.0 <= res.parent.match_score <= 1.0


def test_two_unrelated_adults_tie_goes_to_review() -> None:
    kid = child(
        first_name="Lucía", last_name="Pérez", reported_parent_name="Jorge", reported_parent_relation="father"
    )
    twins = [
        adult(
            f"ICE-{i}",
            a_number=f"21234567{i}",
            first_name="JORGE",
            last_name="PEREZ",
            dob=date(1980 + i * 5, 6, 7),
        )
        for i in (1, 2)
    ]
    [res] = reconcile(FeedSnapshot([kid], twins), AS_OF)
    assert res.parent is None
    assert res.needs_review is True
    assert res.status == "no_parent_match"


def test_dna_exclusion_links_but_not_a_parent() -> None:
    kid = child("ORR-1")
    excluded = adult("ICE-1", a_number="212345678", first_name="ROSA", last_name="GARCIA", sex="F")
    [res] = reconcile(FeedSnapshot([kid], [excluded, *_decoys()], [], [dna("exclusion")]), AS_OF)
    assert res.parent is not None and res.parent.ice_record_ids == ["ICE-1"]
    assert res.status == "not_a_parent"
    assert (res.parent_location.state, res.parent_location.resolved) == ("unknown", False)


def test_dna_match_is_decisive() -> None:
    kid = child("ORR-1", first_name="Ana", last_name="Soto")
    stranger = adult(
        "ICE-1",
        a_number="212345678",
        first_name="ROSA",
        last_name="GARCIA",
        sex="F",
        apprehension_date=None,
        station=None,
    )
    [res] = reconcile(FeedSnapshot([kid], [stranger], [], [dna("match")]), AS_OF)
    assert res.parent is not None and res.parent.match_score == 1.0


def test_review_reject_and_confirm() -> None:
    kid = child(event_id="CBP-7")
    parent = adult("ICE-P", a_number="212345678", last_name="LOPEZ", event_id="CBP-7")
    snap = FeedSnapshot([kid], [parent])
    [rejected] = reconcile(snap, AS_OF, [ReviewDecision("ORR-1", "ICE-P", "reject")])
    assert rejected.parent is None
    other = adult(
        "ICE-Q",
        a_number="298765432",
        first_name="ZOE",
        last_name="QUIROGA",
        apprehension_date=None,
        station=None,
        country="MEXICO",
    )
    [confirmed] = reconcile(
        FeedSnapshot([kid], [parent, other]), AS_OF, [ReviewDecision("ORR-1", "ICE-Q", "confirm")]
    )
    assert confirmed.parent is not None and confirmed.parent.ice_record_ids == ["ICE-Q"]


def _views(kid, *adults):  # type: ignore[no-untyped-def]
    from pipeline.match.adults import build_people
    from pipeline.match.children import group_children
    from pipeline.match.views import ChildView, PersonView

    [group] = group_children([kid])
    return ChildView.of(group), [PersonView.of(p) for p in build_people(adults, [])]


def _level(name: str, kid, person) -> str:  # type: ignore[no-untyped-def]
    from pipeline.match.comparisons import compare, level_of

    return level_of(compare(kid, person), name).label


def test_reported_second_given_name_that_the_adult_lacks_contradicts() -> None:
    kid = child(reported_parent_name="Maria Vilma Lopez", reported_parent_relation="mother")
    cview, [same, other] = _views(
        kid,
        adult("ICE-1", a_number="212345678", first_name="MARIA VILMA", last_name="LOPEZ MENDOZA", sex="F"),
        adult("ICE-2", a_number="298765432", first_name="MARIA DELMY", last_name="LOPEZ CORTES", sex="F"),
    )
    assert _level("parent_name", cview, same) == "reported parent name matches the adult"
    assert (
        _level("parent_name", cview, other) == "reported parent's second given name differs from the adult's"
    )


def test_signed_apprehension_gap_and_admission_window() -> None:
    cview, [p] = _views(child(apprehension_date=date(2018, 5, 1)), adult(apprehension_date=date(2018, 5, 2)))
    assert _level("date", cview, p) == "child apprehended one day before the adult"
    # the child has an apprehension date: the admission is not used
    assert _level("admitted", cview, p) == "child has an apprehension date, or no admission date"
    no_date = child(apprehension_date=None, station=None, admitted_at=date(2018, 5, 6))
    cview, [near, far] = _views(
        no_date,
        adult("ICE-1", a_number="212345678", apprehension_date=date(2018, 5, 3)),
        adult("ICE-2", a_number="298765432", apprehension_date=date(2018, 4, 1)),
    )
    assert (
        _level("admitted", cview, near) == "child admitted to shelter within days of the adult's apprehension"
    )
    assert (
        _level("admitted", cview, far)
        == "child admitted to shelter a week or more after the adult's apprehension"
    )


def test_run_together_adult_surnames_still_agree() -> None:
    kid = child(first_name="Manuel", last_name="Gómez Tzul", sex="M")
    cview, [p] = _views(kid, adult(first_name="EDWIN", last_name="GOMEZyPEREZ", sex="M"))
    assert _level("surname", cview, p) == "child's surname in the parent's place (Spanish naming)"


def test_a_rare_shared_surname_weighs_more_than_a_common_one() -> None:
    from pipeline.match.comparisons import FIELDS, Surname
    from pipeline.match.model import prior_model

    model = prior_model()
    f = FIELDS.index("surname")
    model.shares[f] = {"GARCIA": 0.08, "AJANEL": 0.0005}
    model.mean_share[f] = 0.01
    spanish = Surname.SPANISH.index
    assert (
        model.field_weight(f, spanish, "AJANEL")
        > model.field_weight(f, spanish, None)
        > model.field_weight(f, spanish, "GARCIA")
    )


def test_an_unrelated_namesake_on_the_same_day_is_not_linked_over_the_claimant() -> None:
    kid = child(
        first_name="Jesus",
        last_name="Guerrero Cruz",
        sex="M",
        dob=date(2012, 6, 2),
        station=None,
        apprehension_date=date(2018, 6, 2),
    )
    claimant = adult(
        "ICE-P",
        a_number="201138399",
        first_name="SANTOS",
        last_name="GUERRERO HERNANDEZ",
        sex="M",
        dob=date(1986, 1, 1),
        apprehension_date=date(2018, 5, 31),
        station=None,
        claimed=[("JESUS GUERRERO", None)],
    )
    namesake = adult(
        "ICE-N",
        a_number="201613114",
        first_name="WENDY",
        last_name="CRUZ",
        sex="F",
        dob=date(1976, 11, 26),
        apprehension_date=date(2018, 6, 2),
        station=None,
    )
    [res] = reconcile(FeedSnapshot([kid], [claimant, namesake, *_decoys()]), AS_OF)
    assert res.parent is None or res.parent.ice_record_ids == ["ICE-P"]


def test_sibling_linked_by_dna_lifts_the_other_child() -> None:
    # two fathers with the same surname on the same day: alone, the younger child is a tie
    older = child("ORR-1", first_name="Ana", last_name="Pérez Soto", admitted_at=date(2018, 5, 3))
    younger = child("ORR-2", first_name="Luis", last_name="Pérez Soto", admitted_at=date(2018, 5, 4))
    fathers = [
        adult(f"ICE-{i}", a_number=f"21234567{i}", first_name=name, last_name="PEREZ", dob=date(1980, i, 7))
        for i, name in ((1, "JORGE"), (2, "MARIO"))
    ]
    alone = reconcile(FeedSnapshot([younger], fathers), AS_OF)
    assert alone[0].parent is None
    results = reconcile(FeedSnapshot([older, younger], fathers, [], [dna("match", "ORR-1", "ICE-1")]), AS_OF)
    by_id = {r.child_record_ids[0]: r for r in results}
    lifted = by_id["ORR-2"].parent
    assert lifted is not None and lifted.ice_record_ids == ["ICE-1"]
    assert any(e.startswith("sibling ORR-1") for e in lifted.evidence)


def test_namesake_apprehended_weeks_apart_is_not_a_candidate() -> None:
    kid = child(first_name="Lucía", last_name="Pérez Soto")
    other_week = adult(
        "ICE-1",
        a_number="212345678",
        first_name="JORGE",
        last_name="PEREZ LOPEZ",
        apprehension_date=date(2018, 4, 2),
        station=None,
    )
    [res] = reconcile(FeedSnapshot([kid], [other_week]), AS_OF)
    assert res.parent is None and res.needs_review is False


def test_best_candidates_equal_a_full_sort_ties_by_pid() -> None:
    rng = random.Random(3)
    for _ in range(200):
        pre = {pid: float(rng.randint(0, 6)) for pid in rng.sample(range(500), rng.randint(0, 60))}
        want = sorted(pre, key=lambda pid: (-pre[pid], pid))[:18]
        assert best_scored(pre, 18) == want


def test_first_pass_compares_every_close_candidate_not_only_the_runners_up_it_keeps() -> None:
    # ten namesakes of the child's parents on its day and station, alike before comparison:
    # each is compared in full, though a child keeps only a few runner-ups for review
    kid = child(first_name="Lucía", last_name="Ramos Cruz")
    prep = prepare(FeedSnapshot([kid], _decoys(10)))
    [first] = prep.linker().first_pass(prep.cviews, prep.index, prep.dna_index)
    assert len(first.pairs) == 10
    assert MAX_RUNNERS_UP < 10 <= MAX_CANDIDATES


def _huge_name(n: int, start: int = 0) -> str:
    # distinct tokens (a repeated token would collapse in the matcher's sets)
    return huge_name(n, start)


def _first_tokens(name: str, n: int) -> str:
    return " ".join(name.split()[:n])


def test_a_huge_name_makes_no_more_blocking_keys_nor_lookups_than_its_capped_form() -> None:
    from pipeline.match.adults import build_people
    from pipeline.match.blocking import BlockingIndex, candidates_of
    from pipeline.match.children import group_children
    from pipeline.match.views import ChildView

    given, surname, full = _huge_name(2500), _huge_name(2500, 2500), _huge_name(5000, 9000)

    def keys_and_lookups(g: str, s: str, f: str) -> tuple[int, int]:
        person = adult(first_name=g.upper(), last_name=s.upper(), claimed=[(f, None)])
        index = BlockingIndex(build_people([person], []))
        lookups = 0
        hits = index.hits

        def counting(key: tuple[object, ...]) -> list[int]:
            nonlocal lookups
            lookups += 1
            return hits(key)

        index.hits = counting  # type: ignore[method-assign]
        kid = child(first_name=g, last_name=s, reported_parent_name=f, reported_parent_relation="father")
        [group] = group_children([kid])
        candidates_of(ChildView.of(group), index)
        return len(index.by_key), lookups

    huge = keys_and_lookups(given, surname, full)
    capped = keys_and_lookups(_first_tokens(given, 8), _first_tokens(surname, 6), _first_tokens(full, 14))
    assert huge == capped
    assert capped[0] < 100 and capped[1] < 1000  # a handful of keys per token per day


def test_a_link_on_date_station_surname_and_country_alone_goes_to_review() -> None:
    # the father shares only the day, the station, the surname and the country with the child;
    # decoys of other surnames on the same day make it the clear best: linked, but a person looks
    kid = child(event_id=None)
    father = adult("ICE-P", a_number="212345678", dob=date(1980, 6, 7))
    [res] = reconcile(FeedSnapshot([kid], [father, *_decoys()]), AS_OF)
    assert res.parent is not None and res.parent.ice_record_ids == ["ICE-P"]
    assert res.needs_review is True
    # the same father, naming the child in his claims: identifying evidence, no flag
    claimant = adult("ICE-P", a_number="212345678", claimed=[("Ana López", None)])
    [res] = reconcile(FeedSnapshot([kid], [claimant, *_decoys()]), AS_OF)
    assert res.parent is not None and res.parent.ice_record_ids == ["ICE-P"]
    assert res.needs_review is False
