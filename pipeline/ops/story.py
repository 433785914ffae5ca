"""``reunify show``: one child's whole story. The source records of the run, the chosen parent
and any runner-up candidates with their evidence, DNA results, status and location, review
decisions, and the child's status across every succeeded run.

Shows names, A-numbers and dates of birth: it is for operators working a case. Every value from
a feed is printed through :func:`pipeline.ops.escape.term_text`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.gates import describe_acceptance
from pipeline.ops import records_view
from pipeline.ops.common import ids, table
from pipeline.ops.escape import term_text
from pipeline.ops.records_view import SourceRecord
from pipeline.ops.review import ReviewCase, render_decision, review_case
from pipeline.store import Store
from pipeline.store.models import HistoryRow


@dataclass(slots=True)
class Story:
    """One child's case plus its DNA results and status history."""

    case: ReviewCase
    dna: list[SourceRecord]
    history: list[HistoryRow]


def child_story(store: Store, child_record_id: str, run_id: str | None = None) -> Story:
    """Gather one child's story from a succeeded run (default: the latest) and the run history."""
    case = review_case(store, child_record_id, run_id)
    r = case.row
    dna = records_view.dna_for_child(store, case.run.id, list(r.child_record_ids), r.a_number)
    history = list(store.iter_history(child_keys=[r.child_key]))
    return Story(case, dna, history)


def render_story(story: Story) -> str:
    """The story as terminal text."""
    case, r = story.case, story.case.row
    loc = r.parent_location

    def val(value: object) -> str:
        return "-" if value is None else term_text(value)

    out = [
        f"child {ids(r.child_record_ids)}: {term_text(r.name)}, A-number {val(r.a_number)}, "
        f"born {val(r.date_of_birth)} (age {val(r.age_years)}, "
        f"cohort {r.cohort})",
        f"run {case.run.id}, report date {case.run.as_of}",
        *(f"  {describe_acceptance(a)}" for a in case.run.acceptances),
        "",
        f"status: {r.status}   reasons: {', '.join(r.reasons) or '-'}   "
        f"needs review: {'yes' if r.needs_review else 'no'}",
        f"parent location: {loc.state} ({'resolved' if loc.resolved else 'unresolved'})"
        f"; facility {val(loc.facility)}; country {val(loc.country)}; since {val(loc.since)}"
        f"; days unresolved {val(loc.days_unresolved)}",
        "",
        "source records",
        records_view.side_by_side(case.child_records),
        "",
    ]
    if r.parent is None:
        out.append("chosen parent: none found")
    for cand, parent in case.parents:
        out.append(
            f"{'chosen parent' if cand.role == 'linked parent' else cand.role}: {val(parent.name)}, "
            f"A-number {val(parent.a_number)}, "
            f"match score {parent.match_score or 0:.2f}"
        )
        out += [f"  - {term_text(e)}" for e in parent.evidence or ["(no evidence recorded)"]]
        if cand.records:
            out.append(records_view.side_by_side(cand.records))
        out.append("")
    if not case.candidates_stored:
        out.append("runner-up candidates: none stored for this run (the matcher does not report them yet)")
        out.append("")
    out.append("DNA results" if story.dna else "DNA results: none")
    if story.dna:
        out.append(records_view.side_by_side(story.dna))
    out.append("")
    out.append("review decisions:" if case.decisions else "review decisions: none")
    out += [f"  {render_decision(d)}" for d in case.decisions]
    out += ["", f"status history ({len(story.history)} succeeded runs)"]
    rows = [
        [
            h.as_of.isoformat(),
            h.run_id,
            h.status,
            h.location_state,
            h.location_since or "-",
            h.parent_key or "-",
            "-" if h.match_score is None else f"{h.match_score:.2f}",
            "yes" if h.needs_review else "",
        ]
        for h in story.history
    ]
    out.append(
        table(["report date", "run", "status", "location", "since", "parent", "score", "review"], rows)
    )
    return "\n".join(out) + "\n"
