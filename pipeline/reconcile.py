"""reconcile(snapshot, as_of) -> one ChildResult per child: match, then classify. Pure: no I/O."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from pipeline import classify
from pipeline.match.adults import build_people
from pipeline.match.children import ChildGroup, group_children
from pipeline.match.link import Link, Linker, LinkOutcome
from pipeline.records import DnaResult, FeedSnapshot
from pipeline.results import ChildResult, ParentInfo, ReviewDecision


def _latest_dna(dna: Sequence[DnaResult]) -> list[DnaResult]:
    latest: dict[str, DnaResult] = {}
    for res in dna:
        seen = latest.get(res.record_id)
        if seen is None or res.reported_at >= seen.reported_at:
            latest[res.record_id] = res
    return list(latest.values())


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Matching allocates millions of small acyclic objects: the cyclic collector's passes over
    them cost more than the matching itself, so it sleeps meanwhile (reference counting still
    frees everything)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def reconcile(
    snapshot: FeedSnapshot, as_of: date, decisions: Sequence[ReviewDecision] = ()
) -> list[ChildResult]:
    """Link every child to its parent and classify it; one result per child, sorted by child key.

    ``decisions`` are review verdicts: ``reject`` never links that adult to that child,
    ``confirm`` links them unless a DNA exclusion exists for the pair.
    """
    with no_gc_pauses():
        return _reconcile(snapshot, as_of, decisions)


def _reconcile(snapshot: FeedSnapshot, as_of: date, decisions: Sequence[ReviewDecision]) -> list[ChildResult]:
    groups = sorted(group_children(snapshot.children), key=lambda g: g.key)
    people = build_people(snapshot.adults, snapshot.removals)
    person_of: dict[str, int] = {}
    for person in people:
        for rid in person.ice_record_ids + person.removal_record_ids:
            person_of[rid] = person.pid
    rejected: set[tuple[str, int]] = set()
    confirmed: dict[str, int] = {}
    for dec in decisions:
        pid = person_of.get(dec.adult_record_id)
        if pid is None:
            continue
        if dec.decision == "reject":
            rejected.add((dec.child_key, pid))
            if confirmed.get(dec.child_key) == pid:
                del confirmed[dec.child_key]
        elif dec.decision == "confirm" and (dec.child_key, pid) not in rejected:
            confirmed[dec.child_key] = pid
    dna = _latest_dna(snapshot.dna)
    linker = Linker(people, dna, rejected, confirmed)
    outcomes = linker.link_all(groups)
    outcomes = _with_review_notes(groups, outcomes, decisions, person_of)
    by_child: dict[str, list[DnaResult]] = {}
    for res in dna:
        for key in (res.child_record_id, res.child_a_number):
            if key:
                by_child.setdefault(key, []).append(res)
    return [_result(group, outcome, by_child, as_of) for group, outcome in zip(groups, outcomes, strict=True)]


# --- review decisions in the evidence (the operators' review queue) ----------------------------


def review_note(dec: ReviewDecision) -> str:
    """How a review decision reads in the export's evidence."""
    who = dec.who or "a reviewer"
    when = f" on {dec.decided_on.isoformat()}" if dec.decided_on else ""
    why = f": {dec.why}" if dec.why else ""
    if dec.decision == "confirm":
        return f"confirmed by reviewer {who}{when}{why}"
    return f"{dec.adult_record_id} rejected by reviewer {who}{when}{why}"


def _with_review_notes(
    groups: Sequence[ChildGroup],
    outcomes: Sequence[LinkOutcome],
    decisions: Sequence[ReviewDecision],
    person_of: dict[str, int],
) -> list[LinkOutcome]:
    """Put the standing review decisions of each child into its link's evidence.

    A confirmation the matcher honoured replaces its generic "confirmed by review" line; one that
    a DNA exclusion overturned reopens the case (``needs_review``) and says so; rejections are
    noted beside whatever link was made instead.
    """
    by_child: dict[str, list[ReviewDecision]] = {}
    for dec in decisions:
        by_child.setdefault(dec.child_key, []).append(dec)
    out: list[LinkOutcome] = []
    for group, outcome in zip(groups, outcomes, strict=True):
        decs = by_child.get(group.key)
        if not decs:
            out.append(outcome)
            continue
        rejected = {
            person_of[d.adult_record_id]
            for d in decs
            if d.decision == "reject" and d.adult_record_id in person_of
        }
        confirms = [
            d
            for d in decs
            if d.decision == "confirm"
            and d.adult_record_id in person_of
            and person_of[d.adult_record_id] not in rejected
        ]
        link, needs_review = outcome.link, outcome.needs_review
        notes = [review_note(d) for d in decs if d.decision == "reject"]
        if confirms:
            last = confirms[-1]
            honoured = (
                link is not None
                and not link.dna_exclusion
                and link.person.pid == person_of.get(last.adult_record_id)
            )
            if honoured:
                notes.insert(0, review_note(last))
            else:
                needs_review = True
                notes.insert(0, f"reopened: DNA exclusion overturns the review ({review_note(last)})")
        if link is None:
            out.append(LinkOutcome(None, needs_review))
            continue
        evidence = [e for e in link.evidence if e != "confirmed by review"]
        out.append(
            LinkOutcome(Link(link.person, link.score, notes + evidence, link.dna_exclusion), needs_review)
        )
    return out


def _result(
    group: ChildGroup, outcome: LinkOutcome, dna_index: dict[str, list[DnaResult]], as_of: date
) -> ChildResult:
    records = group.records
    dna: dict[str, DnaResult] = {}
    for key in [*group.record_ids, *(r.a_number for r in records if r.a_number)]:
        for res in dna_index.get(key, ()):
            dna[res.record_id] = res
    link = outcome.link
    facts = (
        classify.ParentFacts(link.person.ice, link.person.removals, link.dna_exclusion)
        if link is not None
        else None
    )
    loc = classify.location(records, facts, as_of)
    parent = _parent_info(link) if link is not None else None
    newest = records[0]
    a_numbers = [r.a_number for r in records if r.a_number]
    return ChildResult(
        child_record_ids=group.record_ids,
        a_number=a_numbers[0] if a_numbers else None,
        name=max((r.name for r in records), key=lambda n: (len(n.split()), len(n))) or newest.name,
        date_of_birth=classify.recorded_dob(records),
        age_years=classify.age(records, as_of),
        cohort=classify.cohort(records, as_of),
        status=classify.status(records, facts, loc),
        reasons=classify.reasons(records, facts, list(dna.values())),
        parent=parent,
        parent_location=loc,
        needs_review=outcome.needs_review,
        candidates=[_parent_info(c) for c in outcome.candidates],
    )


def _parent_info(link: Link) -> ParentInfo:
    person = link.person
    return ParentInfo(
        ice_record_ids=person.ice_record_ids,
        removal_record_ids=person.removal_record_ids,
        a_number=person.a_number,
        name=person.name,
        match_score=link.score,
        evidence=link.evidence,
    )
