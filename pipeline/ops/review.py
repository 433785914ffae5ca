"""The review queue: links a person should look at (flagged by the matcher, or scored below a bar),
each shown with the child's and the candidate adults' records side by side and the evidence; and
the decisions (confirm or reject, who, when, why) that every later run honours.

Shows names, A-numbers and dates of birth: it is for operators working a case. Values from the
feeds (and the reviewers' own words) are printed through :func:`pipeline.ops.escape.term_text`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import ConfigError, NotFoundError
from pipeline.ops import records_view
from pipeline.ops.common import ids, resolve_run, table
from pipeline.ops.escape import json_text, term_text
from pipeline.ops.records_view import SourceRecord
from pipeline.ops.result_row import ParentRow, ResultRow
from pipeline.results import COHORTS
from pipeline.store import Decision, RunInfo, Store, browse

DEFAULT_SCORE_BAR = 0.95
#: Where an item of the queue stands: nobody has decided on its current link yet, or the
#: child's latest standing decision confirmed or rejected an adult.
REVIEW_STATES: tuple[str, ...] = ("pending", "confirmed", "rejected")
#: What a reviewer is asked: to check the link, or (DNA excluded the linked adult) to find the
#: real parent among the runner-ups.
CHECK_LINK, FIND_PARENT = "check the link", "find the real parent"
#: Children out of the queue: their case has ended, a link no longer changes anything.
ENDED_STATUSES = frozenset({"reunified", "discharged_other"})


@dataclass(slots=True)
class ReviewItem:
    """One child in the queue, with why it is there and the decisions already made about it."""

    child_key: str
    result: dict[str, Any]  # the export object, as ``queue_json`` gives it
    why: list[str]
    decisions: list[Decision] = field(default_factory=list)
    state: str = "pending"

    @property
    def kind(self) -> str:
        """``find the real parent`` when DNA excluded the linked adult, else ``check the link``."""
        return FIND_PARENT if dna_excluded(self.result) else CHECK_LINK

    @property
    def row(self) -> ResultRow:
        """The export object as a typed row."""
        return ResultRow.of(self.result)


@dataclass(slots=True)
class Candidate:
    """An adult proposed as a child's parent: the linked one or a runner-up, with its records."""

    role: str
    parent: dict[str, Any]
    records: list[SourceRecord]


@dataclass(slots=True)
class ReviewCase:
    """Everything a reviewer needs to decide one child's link."""

    run: RunInfo
    result: dict[str, Any]  # the export object, as the console's API returns it
    child_records: list[SourceRecord]
    candidates: list[Candidate]
    candidates_stored: bool
    decisions: list[Decision]
    row: ResultRow  # the same, typed

    @property
    def parents(self) -> list[tuple[Candidate, ParentRow]]:
        """Each candidate with its adult as a typed ``parent`` view."""
        return [(cand, ParentRow.of(cand.parent)) for cand in self.candidates]


#: the status of a child whose linked adult DNA excluded
DNA_EXCLUDED_STATUS = "not_a_parent"


def dna_excluded(result: dict[str, Any]) -> bool:
    """True when the child's linked adult was excluded by DNA (status ``not_a_parent``)."""
    return result.get("status") == DNA_EXCLUDED_STATUS and result.get("parent") is not None


def review_reasons(row: ResultRow, below: float) -> list[str]:
    """Why a child's link needs a person (empty: it does not), by the queue's rule."""
    reasons = []
    parent = row.parent
    if parent is not None and row.status == DNA_EXCLUDED_STATUS:
        reasons.append("DNA excluded the linked adult: find the real parent among the runner-ups")
    if row.needs_review:
        reasons.append("flagged by the matcher")
    score = 1.0 if parent is None or parent.match_score is None else parent.match_score
    if parent is not None and score < below:
        reasons.append(f"match score {score:.2f} below {below:.2f}")
    if parent is not None and any(str(e).startswith("reopened:") for e in parent.evidence):
        reasons.append("reopened: a DNA exclusion overturned a confirmation")
    return reasons


def _reopened(result: dict[str, Any]) -> bool:
    parent = result.get("parent") or {}
    return any(str(e).startswith("reopened:") for e in parent.get("evidence") or [])


def review_state(result: dict[str, Any], why: Sequence[str], decisions: Sequence[Decision]) -> str:
    """Where a child of the queue stands (one of REVIEW_STATES), from its decisions in order.

    Its latest decision sets it (confirmed or rejected), unless the run has moved on since: a DNA
    exclusion reopened a confirmation, or after a rejection the child is linked to another adult
    nobody has decided on and that link needs a look. Then it is pending again.
    """
    if not decisions or _reopened(result):
        return "pending"
    last = decisions[-1]
    if last.decision == "confirm":
        return "confirmed"
    parent = result.get("parent") or {}
    linked = {*(parent.get("ice_record_ids") or []), *(parent.get("removal_record_ids") or [])}
    decided = {d.adult_key for d in decisions}
    if why and linked and not linked & decided and not dna_excluded(result):
        return "pending"
    return "rejected"


def review_queue(
    store: Store,
    run_id: str | None = None,
    below: float = DEFAULT_SCORE_BAR,
    state: str | None = "pending",
    cohorts: Sequence[str] = COHORTS,
) -> list[ReviewItem]:
    """Children of a run (default: latest succeeded) whose link needs a person or has had one
    (``state``: only those pending, confirmed or rejected; None: all), reunified and discharged
    children left out: by cohort in the order of ``cohorts`` (the court's deadlines, earliest
    first), then flagged and DNA exclusions first, then by rising match score."""
    if state is not None and state not in REVIEW_STATES:
        raise ConfigError(f"a review state is one of {', '.join(REVIEW_STATES)}, not {state!r}")
    run = resolve_run(store, run_id)
    decisions = _decisions_by_child(store)
    # the history rows choose the few children the queue can hold; only theirs are read whole
    keys = [r.child_key for r in _candidate_rows(store, run.id, below)]
    chosen = browse.results_of(store, run.id, [*keys, *decisions])
    items = []
    for _, result in sorted(chosen.items()):
        if result.get("status") in ENDED_STATUSES:
            continue
        row = ResultRow.of(result)
        why = review_reasons(row, below)
        mine = decisions.get(row.child_key, [])
        if not why and not mine:
            continue
        item = ReviewItem(row.child_key, result, why, mine, review_state(result, why, mine))
        if state is None or item.state == state:
            items.append(item)
    rank = {c: i for i, c in enumerate(cohorts)}
    return sorted(items, key=lambda item: _order_of(_sort_facts(item.row), rank))


def _decisions_by_child(store: Store) -> dict[str, list[Decision]]:
    out: dict[str, list[Decision]] = {}
    for d in store.list_decisions():
        out.setdefault(d.child_key, []).append(d)
    return out


def _candidate_rows(store: Store, run_id: str, below: float) -> list[browse.ReviewRow]:
    return browse.review_rows(
        store, run_id, ended=sorted(ENDED_STATUSES), excluded_status=DNA_EXCLUDED_STATUS, score_below=below
    )


def _sort_facts(row: ResultRow) -> browse.ReviewRow:
    parent = row.parent
    score = parent.match_score if parent is not None else None
    return browse.ReviewRow(
        row.child_key, row.cohort or "", row.status, row.needs_review, score, parent is not None
    )


def _order_of(r: browse.ReviewRow, rank: dict[str, int]) -> tuple[int, bool, float, str]:
    """By cohort (deadline first), then flagged and DNA exclusions first, then by rising score."""
    score = r.match_score if r.linked and r.match_score is not None else 0.0
    urgent = r.needs_review or (r.linked and r.status == DNA_EXCLUDED_STATUS)
    return (rank.get(r.cohort, len(rank)), not urgent, score, r.child_key)


def review_queue_page(
    store: Store,
    run_id: str,
    state: str = "pending",
    cohorts: Sequence[str] = COHORTS,
    offset: int = 0,
    limit: int = 50,
    below: float = DEFAULT_SCORE_BAR,
) -> tuple[int, list[ReviewItem]]:
    """(how many, one page) of ``review_queue`` in one state, reading only the page's results:
    a child nobody decided on is pending, so the pending tab is ordered and paged on the history
    rows, and only the decided children (few) are read whole to learn where they stand."""
    if state != "pending":
        items = review_queue(store, run_id, below, state, cohorts)
        return len(items), items[offset : offset + limit]
    decisions = _decisions_by_child(store)
    decided = browse.results_of(store, run_id, decisions)
    pending: dict[str, ReviewItem] = {}
    for key, result in decided.items():
        if result.get("status") in ENDED_STATUSES:
            continue
        why = review_reasons(ResultRow.of(result), below)
        if review_state(result, why, decisions[key]) == "pending":
            pending[key] = ReviewItem(key, result, why, decisions[key], "pending")
    facts = [r for r in _candidate_rows(store, run_id, below) if r.child_key not in decisions]
    facts += [_sort_facts(item.row) for item in pending.values()]
    rank = {c: i for i, c in enumerate(cohorts)}
    facts.sort(key=lambda r: _order_of(r, rank))
    shown = [r.child_key for r in facts[offset : offset + limit]]
    read = browse.results_of(store, run_id, [k for k in shown if k not in pending])
    page = [
        pending.get(k) or ReviewItem(k, read[k], review_reasons(ResultRow.of(read[k]), below), [], "pending")
        for k in shown
    ]
    return len(facts), page


def _find(store: Store, run: RunInfo, child_record_id: str) -> dict[str, Any]:
    result = store.find_result(child_record_id, run.id)
    if result is None:
        raise NotFoundError(
            f"no child with ORR record {child_record_id!r} in run {run.id}: check the id "
            "(`reunify review list` shows the queue)"
        )
    return result


def _adult_records(store: Store, run_id: str, parent: ParentRow) -> list[SourceRecord]:
    return records_view.fetch(store, run_id, "ice", list(parent.ice_record_ids)) + records_view.fetch(
        store, run_id, "removals", list(parent.removal_record_ids)
    )


def review_case(store: Store, child_record_id: str, run_id: str | None = None) -> ReviewCase:
    """One child's link with the child's and the candidate adults' records and the evidence."""
    run = resolve_run(store, run_id)
    result = _find(store, run, child_record_id)
    row = ResultRow.of(result)
    key = row.child_key
    candidates = []
    if row.parent is not None:
        role = "linked adult, excluded by DNA" if dna_excluded(result) else "linked parent"
        candidates.append(Candidate(role, result["parent"], _adult_records(store, run.id, row.parent)))
    stored = store.list_candidates(run.id, key)
    for rank, cand in enumerate(stored, start=1):
        candidates.append(
            Candidate(f"runner-up #{rank}", cand, _adult_records(store, run.id, ParentRow.of(cand)))
        )
    return ReviewCase(
        run=run,
        result=result,
        child_records=records_view.fetch(store, run.id, "orr", list(row.child_record_ids)),
        candidates=candidates,
        candidates_stored=bool(stored),
        decisions=store.list_decisions(key),
        row=row,
    )


def decide(
    store: Store,
    child_record_id: str,
    adult_record_id: str,
    decision: str,
    who: str,
    why: str,
    run_id: str | None = None,
) -> Decision:
    """Record a reviewer's ``confirm`` or ``reject`` of (child, adult); later runs honour it.

    The child must be in the run's results and the adult record in its ICE or removal records.
    """
    if decision not in ("confirm", "reject"):
        raise ConfigError(f"a decision is confirm or reject, not {decision!r}")
    if not who.strip():
        raise ConfigError("say who decides: --who NAME (it is stored with the decision)")
    if not why.strip():
        raise ConfigError("say why: --why TEXT (it is stored with the decision and shown in the evidence)")
    run = resolve_run(store, run_id)
    result = _find(store, run, child_record_id)
    known = store.get_feed_payloads(run.id, "ice", [adult_record_id]) or store.get_feed_payloads(
        run.id, "removals", [adult_record_id]
    )
    if not known:
        raise NotFoundError(
            f"no ICE or removal record {adult_record_id!r} in run {run.id}: give an adult record id "
            "as `reunify review show` lists them"
        )
    return store.add_decision(
        ResultRow.of(result).child_key, adult_record_id, decision, who.strip(), why.strip()
    )


# --------------------------------------------------------------------------- rendering


def render_queue(items: list[ReviewItem], run: RunInfo) -> str:
    """The queue as a terminal table (record ids, status, score, why; no names)."""
    rows = []
    for it in items:
        row = it.row
        last = it.decisions[-1] if it.decisions else None
        rows.append(
            [
                ids(row.child_record_ids),
                row.status,
                ids(row.parent.record_ids if row.parent else []),
                "-" if row.parent is None else f"{row.parent.match_score or 0:.2f}",
                "; ".join(it.why),
                f"{last.decision} by {last.who}" if last else "-",
            ]
        )
    head = f"review queue of run {run.id} (report date {run.as_of}): {len(items)} children\n"
    return (
        head
        + table(["child", "status", "linked adult", "score", "why", "last decision"], rows, right=(3,))
        + "\n"
    )


def render_decision(d: Decision) -> str:
    """One decision in one line."""
    when = d.decided_at.isoformat(timespec="seconds")
    return f"{d.decision} {term_text(d.adult_key)} by {term_text(d.who)} on {when}: {term_text(d.why)}"


def render_case(case: ReviewCase) -> str:
    """One case: the child's records and each candidate's records side by side, evidence, decisions."""
    r = case.row
    out = [
        f"child {ids(r.child_record_ids)} in run {case.run.id} (report date {case.run.as_of})",
        f"status {r.status}; needs review: {'yes' if r.needs_review else 'no'}; "
        f"reasons: {', '.join(r.reasons) or '-'}",
        "",
    ]
    records = list(case.child_records)
    labels = ["child"] * len(records)
    for cand in case.candidates:
        records += cand.records
        labels += [cand.role] * len(cand.records)
    out.append(records_view.side_by_side(records, labels))
    out.append("")
    if r.parent is None:
        out.append("no parent linked")
    for cand, parent in case.parents:
        out.append(
            f"{cand.role}: ICE {ids(parent.ice_record_ids)}; removals {ids(parent.removal_record_ids)}"
        )
        out.append(f"  match score {parent.match_score or 0:.2f}; evidence:")
        out += [f"    - {term_text(e)}" for e in parent.evidence or ["(none)"]]
    if not case.candidates_stored:
        out.append("runner-up candidates: none stored for this run (the matcher does not report them yet)")
    out.append("")
    out.append("decisions:" if case.decisions else "decisions: none yet")
    out += [f"  {render_decision(d)}" for d in case.decisions]
    return "\n".join(out) + "\n"


def queue_json(items: list[ReviewItem]) -> str:
    """The queue as JSON lines (child key, why, the export object, decisions)."""
    return "".join(
        json_text(
            json.dumps(
                {
                    "child_key": it.child_key,
                    "why": it.why,
                    "result": it.result,
                    "decisions": [
                        {
                            "decision": d.decision,
                            "adult": d.adult_key,
                            "who": d.who,
                            "when": d.decided_at.isoformat(),
                            "why": d.why,
                        }
                        for d in it.decisions
                    ],
                },
                ensure_ascii=False,
            )
        )
        + "\n"
        for it in items
    )
