"""JSON forms of the matching state that workers hand to each other through the store: the model,
the people and child groups by record id, and the first-pass links of a partition.

Records are never copied here: people and groups are lists of record ids, read back from the
run's feed records; the model and links are small. The model's form carries a version and the
layout of the comparisons (names and level labels): comparison vectors are level indices, so a
worker reads state only from a matcher with the same layout (``MatchStateError`` otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.errors import MatchStateError
from pipeline.match.adults import Person
from pipeline.match.children import ChildGroup
from pipeline.match.comparisons import COMPARISONS, Gamma
from pipeline.match.link import FirstLink, Link, LinkOutcome, confident
from pipeline.match.model import Model
from pipeline.match.views import ChildView
from pipeline.records import AdultRecord, ChildRecord, RemovalRecord
from pipeline.results import ReviewDecision

#: the version of these JSON forms; raise it when a form changes shape
STATE_VERSION = 2


def layout() -> list[list[Any]]:
    """The registered comparisons as [name, [level labels]], in the comparison vector's order."""
    return [[comp.name, [lv.label for lv in comp.levels]] for comp in COMPARISONS]


def model_to_json(model: Model) -> dict[str, Any]:
    """The model's weights and name-frequency tables, with the version and comparison layout."""
    return {
        "version": STATE_VERSION,
        "comparisons": layout(),
        "raw": model.raw,
        "shares": {str(f): table for f, table in model.shares.items()},
        "mean_share": {str(f): mean for f, mean in model.mean_share.items()},
    }


def model_from_json(obj: Mapping[str, Any]) -> Model:
    """The model again (floats survive JSON exactly); MatchStateError when another version of the
    matcher wrote it."""
    check_version(obj)
    return Model(
        [list(map(float, row)) for row in obj["raw"]],
        {int(f): dict(table) for f, table in obj["shares"].items()},
        {int(f): float(mean) for f, mean in obj["mean_share"].items()},
    )


def check_version(obj: Mapping[str, Any]) -> None:
    """Refuse a model's form written by another version of the matcher."""
    version = obj.get("version")
    if version != STATE_VERSION:
        raise MatchStateError(
            f"the run's matching state has version {version!r}, this matcher reads version "
            f"{STATE_VERSION}: the run's steps ran different versions of Reunify; cancel the run "
            "(reunify cancel RUN) and start a new one once every worker runs the same version"
        )
    theirs = [str(item[0]) for item in obj.get("comparisons", [])]
    if obj.get("comparisons") != layout():
        ours = [comp.name for comp in COMPARISONS]
        raise MatchStateError(
            f"the run's matching state was written with other comparisons ({', '.join(theirs)}) "
            f"than this matcher's ({', '.join(ours)}, or their levels differ): cancel the run "
            "(reunify cancel RUN) and start a new one once every worker runs the same version"
        )


def person_to_json(person: Person) -> list[Any]:
    """A person as [pid, ICE record ids, removal record ids], in the person's record order."""
    return [person.pid, [r.record_id for r in person.ice], [r.record_id for r in person.removals]]


def person_from_json(
    obj: Sequence[Any], ice: Mapping[str, AdultRecord], removals: Mapping[str, RemovalRecord]
) -> Person:
    """A person from its record ids and the parsed records by id."""
    pid, ice_ids, removal_ids = obj
    return Person(int(pid), [ice[i] for i in ice_ids], [removals[i] for i in removal_ids])


def group_to_json(group: ChildGroup) -> list[str]:
    """A child group as its ORR record ids."""
    return group.record_ids


def group_from_json(ids: Sequence[str], orr: Mapping[str, ChildRecord]) -> ChildGroup:
    """A child group from its record ids and the parsed records by id."""
    return ChildGroup([orr[i] for i in ids])


def decision_to_json(dec: ReviewDecision) -> dict[str, Any]:
    """A review decision."""
    return {
        "child_key": dec.child_key,
        "adult_record_id": dec.adult_record_id,
        "decision": dec.decision,
        "who": dec.who,
        "decided_on": dec.decided_on.isoformat() if dec.decided_on else None,
        "why": dec.why,
    }


def decision_from_json(obj: Mapping[str, Any]) -> ReviewDecision:
    """A review decision again."""
    decided = obj.get("decided_on")
    return ReviewDecision(
        obj["child_key"],
        obj["adult_record_id"],
        obj["decision"],
        who=obj.get("who", ""),
        decided_on=date.fromisoformat(decided) if decided else None,
        why=obj.get("why", ""),
    )


def _link_to_json(link: Link) -> list[Any]:
    return [link.person.pid, link.score, link.evidence, link.dna_exclusion]


def first_to_json(first: FirstLink) -> dict[str, Any]:
    """One child's first-pass link, with people by pid. The compared pairs are kept only for a
    child without a confident link: the family pass revisits no other (most children)."""
    out = first.outcome
    pairs = [] if confident(out) else first.pairs
    return {
        "t": [[pid, res] for pid, res in first.tested.items()],
        "p": [[pid, list(levels), list(terms)] for pid, (levels, terms) in pairs],
        "l": _link_to_json(out.link) if out.link is not None else None,
        "r": out.needs_review,
        "c": [_link_to_json(c) for c in out.candidates],
    }


def first_from_json(obj: Mapping[str, Any], cview: ChildView, person: Callable[[int], Person]) -> FirstLink:
    """One child's first-pass link again; ``person`` gives the Person of a pid."""

    def link(item: Sequence[Any]) -> Link:
        pid, score, evidence, exclusion = item
        return Link(person(int(pid)), float(score), list(evidence), bool(exclusion))

    pairs: list[tuple[int, Gamma]] = [
        (int(pid), (tuple(levels), tuple(terms))) for pid, levels, terms in obj["p"]
    ]
    outcome = LinkOutcome(
        link(obj["l"]) if obj["l"] is not None else None, bool(obj["r"]), [link(c) for c in obj["c"]]
    )
    return FirstLink(cview, {int(pid): str(res) for pid, res in obj["t"]}, pairs, outcome)


# -- the artifact layout: what a run through workers writes between its steps -------------------
# prepare writes MODEL (the model, the people count, review decisions) and WHOLE (every group and
# person by record ids, the partition count) and one partition_artifact(n) per partition (its
# children, groups, people, oversized blocks, DNA result ids); match:n writes first_links_artifact(n)
# (the partition's first-pass links); finish reads them all. The store deletes them at publish.
MODEL_ARTIFACT = "model"
WHOLE_ARTIFACT = "whole"
#: the frozen model a run used (``ModelState``): kept with the run after publish, unlike the rest
MODEL_STATE_ARTIFACT = "model-state"
#: the first-pass links a run made (``link_state.LinkState``): kept after publish too
LINK_STATE_ARTIFACT = "link-state"


@dataclass(frozen=True, slots=True)
class ModelState:
    """The model a run reconciled under, and which run estimated it when (incremental and
    --no-fetch runs reuse it until it is ``REUNIFY_MODEL_MAX_AGE_DAYS`` old)."""

    model: Model
    estimated_by: str
    estimated_on: date


def model_state_to_json(ms: ModelState) -> dict[str, Any]:
    """A model state, with the model's version and comparison layout."""
    return {
        "model": model_to_json(ms.model),
        "estimated_by": ms.estimated_by,
        "estimated_on": ms.estimated_on.isoformat(),
    }


def model_state_from_json(obj: Mapping[str, Any]) -> ModelState:
    """A model state again; MatchStateError when another version of the matcher wrote it."""
    return ModelState(
        model_from_json(obj["model"]), str(obj["estimated_by"]), date.fromisoformat(obj["estimated_on"])
    )


def partition_artifact(number: int) -> str:
    """The artifact of one partition's plan (``part:0``), written by prepare, read by match:n."""
    return f"part:{number}"


def first_links_artifact(number: int) -> str:
    """The artifact of one partition's first-pass links (``first:0``), written by match:n."""
    return f"first:{number}"
