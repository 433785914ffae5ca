"""The case store on SQLite and PostgreSQL: one case per parent, cases that follow their person
across runs (shared record ids; new ids with the same adult identity), flags when a child is
linked to someone else, append-only contact attempts, and the court's figures summing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pipeline.errors import StoreError
from pipeline.ops.cases import FIGURE_BUCKETS, bucket_of, case_figures
from pipeline.settings import load_settings
from pipeline.store import Store
from pipeline.store.cases import CaseFilter, CaseStore
from pipeline.store.schema import contact_attempts

AS_OF = date(2018, 7, 12)
COHORTS = ("under_5", "5_and_over", "unknown")


def _result(
    ids: list[str],
    status: str,
    *,
    ice: list[str] = (),  # type: ignore[assignment]
    removals: list[str] = (),  # type: ignore[assignment]
    state: str = "unknown",
    resolved: bool = False,
    cohort: str = "5_and_over",
    days: int | None = 3,
) -> dict[str, Any]:
    parent = (
        {
            "ice_record_ids": list(ice),
            "removal_record_ids": list(removals),
            "a_number": None,
            "name": "P",
            "match_score": 0.9,
            "evidence": [],
        }
        if ice or removals
        else None
    )
    return {
        "child_record_ids": ids,
        "a_number": None,
        "name": "C",
        "date_of_birth": None,
        "age_years": 6,
        "cohort": cohort,
        "status": status,
        "reasons": [],
        "parent": parent,
        "parent_location": {
            "state": state,
            "resolved": resolved,
            "facility": None,
            "country": "GUATEMALA" if state == "removed" else None,
            "since": None,
            "days_unresolved": None if resolved else days,
        },
        "needs_review": False,
        "run_id": "x",
    }


def _detainee(subject_id: str, a_number: str | None, first: str, last: str) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "a_number": a_number,
        "first_name": first,
        "last_name": last,
        "birth_date": "1985-03-14",
        "gender": "F",
        "citizenship": "HONDURAS",
        "custody": {
            "status": "released",
            "facility_code": None,
            "facility_name": None,
            "as_of": "2018-07-01",
        },
        "apprehension_event_id": None,
        "apprehension_date": "2018-05-02",
        "apprehension_station": None,
        "criminal_history": "none",
        "medical_hold": False,
        "claimed_children": [],
        "updated_at": "2018-07-01T10:00:00Z",
    }


def _child_record(child_id: str, facility: str) -> dict[str, Any]:
    return {
        "childId": child_id,
        "facilityId": facility,
        "facilityName": f"Shelter {facility}",
        "admittedAt": "2018-06-01",
    }


def _publish(store: Store, results: list[dict[str, Any]], ice: list[dict[str, Any]] = ()) -> str:  # type: ignore[assignment]
    run_id = store.start_run("test", AS_OF)
    store.add_feed_records(run_id, "ice", [(d["subject_id"], d["updated_at"], json.dumps(d)) for d in ice])
    orr = [
        _child_record(i, "TX-1" if n % 2 else "AZ-2")
        for n, r in enumerate(results)
        for i in r["child_record_ids"]
    ]
    store.add_feed_records(run_id, "orr", [(o["childId"], "", json.dumps(o)) for o in orr])
    store.publish_results(run_id, results)
    return run_id


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


def _by_kind(cs: CaseStore, run_id: str) -> dict[str, list[Any]]:
    found = cs.list_cases(run_id, CaseFilter(), cohort_order=COHORTS, limit=500)
    return {k: [c for c in found if c.kind == k] for k in ("parent", "find_parent")}


def test_one_case_per_parent_and_one_per_child_without_a_parent(store: Store) -> None:
    run = _publish(
        store,
        [
            _result(
                ["ORR-1"],
                "parent_removed",
                ice=["ICE-1"],
                removals=["RM-1"],
                state="removed",
                cohort="under_5",
            ),
            _result(["ORR-2"], "parent_removed", ice=["ICE-1"], removals=["RM-1"], state="removed", days=9),
            _result(["ORR-3"], "eligible", ice=["ICE-3"], state="in_ice_custody", resolved=True),
            _result(["ORR-4"], "no_parent_match"),
            _result(["ORR-5"], "not_a_parent", ice=["ICE-5"]),
            _result(["ORR-6"], "discharged_other", ice=["ICE-6"], state="released"),
        ],
    )
    cs = CaseStore(store)
    done = cs.sync(run, COHORTS)
    assert done.synced and done.in_list == 3
    assert not cs.sync(run, COHORTS).synced  # once per run
    found = _by_kind(cs, run)
    (parent,) = found["parent"]
    assert parent.parent_key == "ICE-1" and parent.children == 2
    assert parent.cohort == "under_5" and parent.days_unresolved == 9
    # no parent found, and DNA excluded the linked adult: the parent is to be found
    keys = sorted(m.child_key for ms in cs.members([c.id for c in found["find_parent"]]).values() for m in ms)
    assert keys == ["ORR-4", "ORR-5"]
    # the filters: the children's facility, and the deadline order (under_5 first)
    assert (
        cs.count_cases(run, CaseFilter(facility="TX-1")) + cs.count_cases(run, CaseFilter(facility="AZ-2"))
        >= 3
    )
    first = cs.list_cases(run, CaseFilter(), cohort_order=COHORTS, limit=1)[0]
    assert first.id == parent.id
    assert cs.count_cases(run, CaseFilter(cohorts=("under_5",))) == 1


def test_a_case_follows_its_parent_across_runs_and_is_flagged_when_a_child_moves(store: Store) -> None:
    rosa = _detainee("ICE-5", "A-204-946-313", "ROSA", "PEREZ LOPEZ")
    first = _publish(
        store,
        [
            _result(["ORR-1"], "parent_removed", ice=["ICE-1"], removals=["RM-1"], state="removed"),
            _result(["ORR-2"], "parent_removed", ice=["ICE-1"], removals=["RM-1"], state="removed"),
            _result(["ORR-4"], "no_parent_match"),
            _result(["ORR-5"], "parent_released", ice=["ICE-5"], state="released"),
            _result(["ORR-7"], "parent_released", ice=["ICE-70"], state="released"),
        ],
        ice=[rosa, _detainee("ICE-70", "A-111-222-333", "ANA", "REYES")],
    )
    cs = CaseStore(store)
    cs.sync(first, COHORTS)
    before = {
        m.child_key: c for c in cs.list_cases(first, CaseFilter(), limit=50) for m in cs.members([c.id])[c.id]
    }
    cs.assign(before["ORR-1"].id, "carl", "carl")
    cs.set_state(before["ORR-5"].id, "contacting", "carl")

    # ICE re-keyed Rosa (same A-number and name, new subject id); ICE-9 joined the first parent;
    # ORR-2 is now linked to another adult; ORR-4 got a parent; ORR-7's adult is a namesake with
    # another A-number under a new id: not the same person
    second = _publish(
        store,
        [
            _result(["ORR-1"], "parent_removed", ice=["ICE-1", "ICE-9"], removals=["RM-1"], state="removed"),
            _result(["ORR-2"], "parent_released", ice=["ICE-8"], state="released"),
            _result(["ORR-4"], "parent_released", ice=["ICE-40"], state="released"),
            _result(["ORR-5"], "parent_released", ice=["ICE-50"], state="released"),
            _result(["ORR-7"], "parent_released", ice=["ICE-71"], state="released"),
        ],
        ice=[
            _detainee("ICE-50", "204946313", "ROSA", "PEREZ"),
            _detainee("ICE-71", "A-999-888-777", "ANA", "REYES"),
        ],
    )
    done = cs.sync(second, COHORTS)
    assert done.followed_by_identity == 1
    after = {
        m.child_key: c
        for c in cs.list_cases(second, CaseFilter(), limit=50)
        for m in cs.members([c.id])[c.id]
    }
    # shared record ids: the same case, its work kept, its identity now with ICE-9
    assert after["ORR-1"].id == before["ORR-1"].id and after["ORR-1"].assignee == "carl"
    assert "ice:ICE-9" in cs.identities(after["ORR-1"].id)
    assert "ORR-2 is now linked to another adult, ICE-8" in (after["ORR-1"].flag or "")
    # new ids, same adult identity and the same child: the same case
    assert after["ORR-5"].id == before["ORR-5"].id and after["ORR-5"].state == "contacting"
    assert cs.identities(after["ORR-5"].id) == ["ice:ICE-50"]
    # a namesake under another A-number is a new case; the old one leaves the list
    assert after["ORR-7"].id != before["ORR-7"].id
    assert not cs.get_case(before["ORR-7"].id).in_list
    # the find-the-parent case is flagged and out of the list; the parent's case is new
    old_find = cs.get_case(before["ORR-4"].id)
    assert not old_find.in_list and "a parent was found for child ORR-4: ICE-40" in (old_find.flag or "")
    assert after["ORR-4"].kind == "parent" and after["ORR-2"].id not in (before["ORR-1"].id,)
    events = [e.event for e in cs.events(after["ORR-5"].id)]
    assert events[:2] == ["created", "state"] and "followed" in events
    cs.clear_flag(after["ORR-1"].id, "carl")
    assert cs.get_case(after["ORR-1"].id).flag is None


def test_contact_attempts_are_append_only_and_their_codes_checked(store: Store) -> None:
    run = _publish(store, [_result(["ORR-1"], "parent_removed", ice=["ICE-1"], state="removed")])
    cs = CaseStore(store)
    cs.sync(run, COHORTS)
    (case,) = cs.list_cases(run, CaseFilter())
    at = datetime(2018, 7, 12, 15, 30, tzinfo=UTC)
    cs.add_attempt(
        case.id,
        attempted_at=at,
        channel="consulate",
        language="kiche",
        outcome="reached",
        wish="reunify",
        author="carl",
        next_action="call back",
        next_action_due=date(2018, 7, 14),
    )
    with pytest.raises(StoreError, match="unknown channel"):
        cs.add_attempt(
            case.id, attempted_at=at, channel="fax", language="spanish", outcome="reached", author="c"
        )
    with pytest.raises(StoreError, match="closed with a reason"):
        cs.set_state(case.id, "closed", "carl")
    engine = sa.create_engine(store._url)
    for stmt in (sa.update(contact_attempts).values(notes="changed"), sa.delete(contact_attempts)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(stmt)
    engine.dispose()
    (attempt,) = cs.attempts([case.id])[case.id]
    assert (attempt.channel, attempt.wish, attempt.author) == ("consulate", "reunify", "carl")


def test_the_court_figures_sum_per_cohort(store: Store, tmp_path: Path) -> None:
    results = [
        _result([f"ORR-{n}"], "parent_released", ice=[f"ICE-{n}"], state="released", cohort=COHORTS[n % 3])
        for n in range(12)
    ] + [_result(["ORR-99"], "no_parent_match", cohort="under_5")]
    store_run = _publish(store, results)
    settings = load_settings(
        {"REUNIFY_AS_OF": AS_OF.isoformat(), "REUNIFY_DATABASE_URL": "sqlite://"},
        config_file=tmp_path / "none.toml",
    )
    cs = CaseStore(store)
    figures = case_figures(store, settings)
    assert figures is not None and figures.run_id == store_run
    listed = cs.list_cases(store_run, CaseFilter(), limit=50)
    at = datetime(2018, 7, 12, 9, 0, tzinfo=UTC)
    plan = [
        ("no_answer", None),
        ("reached", None),
        ("reached", "reunify"),
        ("other", "waive"),
        ("reached", "undecided"),
    ]
    for case, (outcome, wish) in zip(listed, plan * 3, strict=False):
        cs.add_attempt(
            case.id,
            attempted_at=at,
            channel="phone",
            language="spanish",
            outcome=outcome,
            wish=wish,
            author="carl",
        )
    figures = case_figures(store, settings)
    assert figures is not None and figures.checks()
    assert figures.total.cases == 13 and figures.total.parents_to_find == 1
    for c in figures.cohorts:
        assert sum(c.buckets.values()) == c.cases
    assert figures.total.buckets["not_contacted"] == 0 and figures.total.contacted == 13
    assert sum(figures.total.buckets.values()) == 13 and set(figures.total.buckets) == set(FIGURE_BUCKETS)
    assert figures.total.buckets["wishes_reunification"] == sum(
        1 for _, w in (plan * 3)[:13] if w == "reunify"
    )
    assert bucket_of(True, False, None) == "not_reached" and bucket_of(False, False, None) == "not_contacted"
