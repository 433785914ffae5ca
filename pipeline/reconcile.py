"""reconcile(snapshot, as_of) -> one ChildResult per child: match, then classify. Pure: no I/O.

In three parts, so that workers can share the linking: ``prepare`` (child groups, people, the
model, the partitions: global), ``link_partition`` (the first linking pass over one partition's
children: the bulk of the work) and ``finish`` (the family pass and classification: global).
``reconcile`` runs all three in this process.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import ParamSpec, TypeVar

from pipeline import classify
from pipeline.dates import screen_snapshot
from pipeline.dna import latest_per_test
from pipeline.match.adults import Person, people_of_owners, recognise_people
from pipeline.match.blocking import BlockingIndex, Bucket, DnaIndex
from pipeline.match.children import ChildGroup, group_children, group_owners, groups_of_owners
from pipeline.match.link import FirstLink, Link, Linker, LinkOutcome, Reused, calibrated
from pipeline.match.link_state import KeptInputs, LinkState, fingerprint, matcher_digest, snapshot_digests
from pipeline.match.model import Model, estimate_model, prior_model
from pipeline.match.partition import Partition, plan_partitions
from pipeline.match.views import ChildView, Shared
from pipeline.records import DnaResult, FeedSnapshot
from pipeline.results import ChildResult, ParentInfo, ReviewDecision

# Children linked between two progress reports of a partition (each child is decided on its own,
# so linking in slices gives the same links as linking all at once).
LINK_SLICE = 250
# Called with (children linked so far, children of the partition) while a partition is linked.
LinkProgress = Callable[[int, int], None]


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


P = ParamSpec("P")
R = TypeVar("R")


def without_gc_pauses(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` under :func:`no_gc_pauses`, the collector woken only once ``fn`` has returned.

    Woken inside ``fn`` (a ``with`` block ending at its ``return``), the collector's first pass
    comes before ``fn``'s locals are freed and walks all its working state, young and about to
    go: about a second at 20,000 children. Woken here, it finds only what ``fn`` returned."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with no_gc_pauses():
            return fn(*args, **kwargs)

    return wrapper


@dataclass
class Prepared:
    """The global part of a reconciliation: child groups (sorted by key) and their views, people,
    the model, the review decisions resolved to people, the latest DNA results, the partitions."""

    groups: list[ChildGroup]
    cviews: list[ChildView]
    people: list[Person]
    model: Model
    rejected: set[tuple[str, int]]
    confirmed: dict[str, int]
    dna: list[DnaResult]
    partitions: list[Partition]
    #: the blocking index of every person
    index: BlockingIndex
    #: the DNA results by child, and record id (ICE or removal) -> pid
    dna_index: DnaIndex
    person_of: dict[str, int]
    #: the digests of the screened records (``link_state.snapshot_digests``), when asked for
    digests: tuple[bytes, bytes, bytes] | None = None
    #: who the people are (``adults.recognise_people``) and the child groups (``children.group_owners``),
    #: when the digests were asked for
    owners: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None = None
    #: the people came from a kept state of the same adults and removal rows, not from matching
    people_reused: bool = False

    def kept_inputs(self, inputs: Sequence[bytes]) -> KeptInputs | None:
        """What the next reconciliation over the same records need not derive again, with the
        children's candidate-input digests ``inputs``; None without the digests."""
        if self.digests is None or self.owners is None:
            return None
        ice, rows, groups = self.owners
        people, children, snapshot = self.digests
        return KeptInputs(people, ice, rows, children, groups, snapshot, tuple(inputs))

    def linker(self, people: Mapping[int, Person] | None = None) -> Linker:
        """A linker under this model over ``people`` (default: every person)."""
        return Linker(
            people if people is not None else _by_pid(self.people),
            len(self.people),
            self.model,
            self.rejected,
            self.confirmed,
        )


def _by_pid(people: Sequence[Person]) -> dict[int, Person]:
    return {p.pid: p for p in people}


def person_of(people: Sequence[Person]) -> dict[str, int]:
    """Record id (ICE or removal) -> the pid of the person it belongs to."""
    out: dict[str, int] = {}
    for person in people:
        for rid in person.ice_record_ids + person.removal_record_ids:
            out[rid] = person.pid
    return out


def resolve_decisions(
    decisions: Sequence[ReviewDecision], person_of: Mapping[str, int]
) -> tuple[set[tuple[str, int]], dict[str, int]]:
    """Review decisions as (child key, pid) rejections and child key -> confirmed pid."""
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
    return rejected, confirmed


def prepare(
    snapshot: FeedSnapshot,
    decisions: Sequence[ReviewDecision] = (),
    partitions: int = 1,
    as_of: date | None = None,
    model: Model | None = None,
    kept: KeptInputs | None = None,
    digests: bool = False,
    meet: bool = True,
) -> Prepared:
    """Group the children, recognise the people, estimate the model (unless a frozen ``model``
    is given) and plan the partitions.

    With the report date ``as_of`` (a run's), dates that are not evidence at it are unknown
    first (``dates.screen_snapshot``): the matcher never weighs a birth in 9999. With
    ``digests`` (or ``kept``), the screened records are digested; when their adults and removal
    rows are those of ``kept`` (an earlier reconciliation's, by the same matcher), the people
    are the ones it recognised, and are not matched again. Without ``meet``, the partitions
    hold their children only (``partition.plan_partitions``): the caller links them over
    ``Prepared.index``, whose key buckets are then built only if a child needs blocking.
    """
    if as_of is not None:
        snapshot = screen_snapshot(snapshot, as_of)
    digested = snapshot_digests(snapshot) if digests or kept is not None else None
    # each part of ``kept`` is taken only over the records it was derived from
    groups: list[ChildGroup] | None = None
    grouped: tuple[int, ...] | None = None
    if kept is not None and digested is not None and digested[1] == kept.children_digest:
        groups = groups_of_owners(snapshot.children, kept.group_owner)
        grouped = kept.group_owner if groups is not None else None
    if groups is None:
        groups = sorted(group_children(snapshot.children), key=lambda g: g.key)
    people: list[Person] | None = None
    if kept is not None and digested is not None and digested[0] == kept.people_digest:
        people = people_of_owners(snapshot.adults, snapshot.removals, kept.ice_owner, kept.row_owner)
        ice, rows = kept.ice_owner, kept.row_owner
    reused = people is not None
    if people is None:
        people, ice, rows = recognise_people(snapshot.adults, snapshot.removals)
    who: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None = None
    if digested is not None:
        who = (ice, rows, grouped if grouped is not None else group_owners(groups, snapshot.children))
    owner_of = person_of(people)
    rejected, confirmed = resolve_decisions(decisions, owner_of)
    dna = latest_per_test(snapshot.dna)
    dna_index = DnaIndex.of(dna)
    shared: Shared = {}
    cviews = [ChildView.of(group, shared) for group in groups]
    if model is None:
        scratch = Linker(_by_pid(people), len(people), prior_model())
        model = estimate_model(cviews, scratch.pview, people)
    index = BlockingIndex(people)
    parts = plan_partitions(cviews, people, index, dna_index, confirmed, partitions, meet)
    return Prepared(
        groups,
        cviews,
        people,
        model,
        rejected,
        confirmed,
        dna,
        parts,
        index,
        dna_index,
        owner_of,
        digested,
        who,
        reused,
    )


def link_partition(
    linker: Linker,
    cviews: Sequence[ChildView],
    partition: Partition,
    dna: DnaIndex,
    index: BlockingIndex | None = None,
    progress: LinkProgress | None = None,
    known: Mapping[str, Reused] | None = None,
    probed: dict[str, list[Bucket]] | None = None,
) -> list[FirstLink]:
    """The first pass over one partition's children (``cviews``, in the partition's order), with
    an index of the partition's people (``linker.people`` holds at least those), or ``index``
    when the caller has one that gives the same buckets (the whole snapshot's). ``progress`` is
    told the children linked so far every ``LINK_SLICE`` children (it may raise to stop).
    ``known``: the pairs of children that need no blocking (``LinkState.reusable``); ``probed``:
    children's buckets over ``index`` gathered already (``Linker.first_pass``)."""
    if index is None:
        index = BlockingIndex((linker.people[pid] for pid in partition.people), partition.oversized)
        probed = None  # gathered over another index
    if progress is None:
        return linker.first_pass(cviews, index, dna, known, probed)
    firsts: list[FirstLink] = []
    progress(0, len(cviews))
    for start in range(0, len(cviews), LINK_SLICE):
        firsts.extend(linker.first_pass(cviews[start : start + LINK_SLICE], index, dna, known, probed))
        progress(len(firsts), len(cviews))
    return firsts


def finish(
    groups: Sequence[ChildGroup],
    firsts: Sequence[FirstLink],
    linker: Linker,
    revisits: Mapping[int, tuple[dict[int, float], dict[int, str]]],
    decisions: Sequence[ReviewDecision],
    person_of: Mapping[str, int],
    dna: Sequence[DnaResult],
    as_of: date,
) -> list[ChildResult]:
    """The family pass over ``revisits`` (``linker.revisits(firsts)``), then classify every child."""
    outcomes = linker.second_pass(firsts, revisits)
    outcomes = _with_review_notes(groups, outcomes, decisions, person_of)
    by_child: dict[str, list[DnaResult]] = {}
    for res in dna:
        for key in (res.child_record_id, res.child_a_number):
            if key:
                by_child.setdefault(key, []).append(res)
    return [
        _result(group, outcome, by_child, as_of, linker.n_people)
        for group, outcome in zip(groups, outcomes, strict=True)
    ]


def reconcile(
    snapshot: FeedSnapshot,
    as_of: date,
    decisions: Sequence[ReviewDecision] = (),
    partitions: int = 1,
    progress: Callable[[int, int, int, int], None] | None = None,
    model: Model | None = None,
) -> list[ChildResult]:
    """Link every child to its parent and classify it; one result per child, sorted by child key.

    ``decisions`` are review verdicts: ``reject`` never links that adult to that child,
    ``confirm`` links them unless a DNA exclusion exists for the pair. The linking runs in
    ``partitions`` slices one after the other (the same slices workers run in parallel); the
    result does not depend on how many. ``progress`` is told (partition number from 1, partitions,
    children linked, children of the partition) as the linking goes (it may raise to stop).
    ``model``: a frozen model to link under (``Prepared.model`` of an earlier reconciliation)
    instead of estimating one from this snapshot.
    """
    return reconcile_under(snapshot, as_of, decisions, partitions, progress, model)[0]


def reconcile_under(
    snapshot: FeedSnapshot,
    as_of: date,
    decisions: Sequence[ReviewDecision] = (),
    partitions: int = 1,
    progress: Callable[[int, int, int, int], None] | None = None,
    model: Model | None = None,
) -> tuple[list[ChildResult], Model]:
    """``reconcile``, and the model it linked under (the one given, or the one it estimated)."""
    done = reconcile_reusing(snapshot, as_of, decisions, partitions, progress, model, keep=False)
    return done.results, done.model


@dataclass
class Reconciled:
    """A reconciliation's results, the model it linked under, its first-pass links for the next
    one (None unless asked for), how many children were blocked and compared afresh, and how
    many reused candidates were compared again (their match fields changed)."""

    results: list[ChildResult]
    model: Model
    links: LinkState | None
    relinked: int
    recompared: int = 0
    #: the people, and the children's candidate inputs, came from ``previous`` (same records)
    people_reused: bool = False
    inputs_reused: bool = False
    #: the blocking index's key buckets were built (some child was blocked afresh)
    buckets_built: bool = True


@without_gc_pauses
def reconcile_reusing(
    snapshot: FeedSnapshot,
    as_of: date,
    decisions: Sequence[ReviewDecision] = (),
    partitions: int = 1,
    progress: Callable[[int, int, int, int], None] | None = None,
    model: Model | None = None,
    previous: LinkState | None = None,
    keep: bool = True,
) -> Reconciled:
    """``reconcile_under`` that reuses ``previous`` (the links of an earlier reconciliation)
    for every child whose first-pass inputs are unchanged, when it was made under the same model
    and matcher (``link_state``): the results equal a reconciliation from scratch under that
    model. With ``keep``, returns this reconciliation's links for the next one."""
    # what the previous reconciliation derived of its records, if the same matcher did
    kept = previous.kept if previous is not None and previous.matcher == matcher_digest() else None
    # every partition is linked over the whole index (the same buckets: partition.py), so
    # the partitions need not know whom their children meet
    prep = prepare(snapshot, decisions, partitions, as_of, model, kept, digests=keep, meet=False)
    prints = None
    inputs = None
    # the buckets the fingerprints gather, for the pre-score of the children blocked afresh
    probed: dict[str, list[Bucket]] = {}
    if keep or previous is not None:
        if kept is not None and prep.digests is not None:
            inputs = kept.inputs_for(prep.digests[2], len(prep.cviews))
        prints = fingerprint(
            prep.cviews,
            prep.people,
            prep.index,
            prep.dna_index,
            prep.rejected,
            prep.confirmed,
            inputs,
            probed,
        )
    known = previous.reusable(prep.cviews, prints, prep.model) if previous and prints else {}
    for key in known:
        probed.pop(key, None)
    linker = prep.linker()
    firsts: list[FirstLink | None] = [None] * len(prep.groups)
    for part in prep.partitions:
        cviews = [prep.cviews[i] for i in part.children]
        told = None
        if progress is not None:
            told = _partition_progress(progress, part.number + 1, len(prep.partitions))
        linked = link_partition(linker, cviews, part, prep.dna_index, prep.index, told, known, probed)
        for i, first in zip(part.children, linked, strict=True):
            firsts[i] = first
    done = [f for f in firsts if f is not None]
    results = finish(
        prep.groups,
        done,
        linker,
        linker.revisits(done),
        decisions,
        prep.person_of,
        prep.dna,
        as_of,
    )
    links = None
    if keep and prints is not None:
        links = LinkState.of(done, prints, prep.model, prep.kept_inputs(prints.inputs))
    recompared = sum(gamma is None for reuse in known.values() for _, gamma in reuse.pairs)
    return Reconciled(
        results,
        prep.model,
        links,
        len(done) - len(known),
        recompared,
        prep.people_reused,
        inputs is not None,
        prep.index.built,
    )


def _partition_progress(
    progress: Callable[[int, int, int, int], None], number: int, partitions: int
) -> LinkProgress:
    return lambda linked, children: progress(number, partitions, linked, children)


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
    person_of: Mapping[str, int],
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
    group: ChildGroup,
    outcome: LinkOutcome,
    dna_index: dict[str, list[DnaResult]],
    as_of: date,
    n_people: int,
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
    parent = _parent_info(link, n_people) if link is not None else None
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
        candidates=[_parent_info(c, n_people) for c in outcome.candidates],
    )


def _parent_info(link: Link, n_people: int) -> ParentInfo:
    person = link.person
    return ParentInfo(
        ice_record_ids=person.ice_record_ids,
        removal_record_ids=person.removal_record_ids,
        a_number=person.a_number,
        name=person.name,
        match_score=calibrated(link.score, n_people),
        evidence=link.evidence,
    )
