"""Parent–child linking: the linker, which decides each child's parent under the model.

The parts live beside it, one job each: ``views`` (what comparisons read), ``comparisons`` (the
comparisons and their levels, registered once), ``model`` (the Fellegi–Sunter weights built from
them), ``blocking`` (who a child meets, and the DNA tests that name an adult), ``families`` (the
second pass's sibling evidence).

1. **Candidates**: blocking gives each child a pre-score of the people it shares a key with; only
   the best few (within a margin of the best) are compared in full.
2. **Assignment**: each person is a priori equally likely to be a child's parent, so a candidate's
   odds are its likelihood ratio over the number of people; the posterior of a candidate is its
   odds over the sum of every candidate's odds plus the mass of "the parent is not among them".
   Two close candidates split the probability, and the child is flagged for review. A link is kept
   only when its posterior clears the bar, because a wrong parent is worse than none. Several
   children may share a parent (siblings).
3. **Families**: a second pass revisits the children without a confident link, with the evidence
   of their confidently linked siblings (``families``).

DNA results are decisive: ``match`` (or ``exclusion``, which still names the adult the child was
apprehended with) links the tested adult outright; ``pending``/``inconclusive`` only add weight.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from pipeline.match.adults import Person
from pipeline.match.blocking import BlockingIndex, Bucket, DnaIndex, dna_people, top_candidates
from pipeline.match.comparisons import (
    COMPARISONS,
    FIELDS,
    Claimed,
    Event,
    Gamma,
    ParentName,
    Surname,
    compare,
)
from pipeline.match.families import Families
from pipeline.match.model import Model
from pipeline.match.views import ChildView, PersonView, Shared

#: the smallest posterior that keeps a link; below it the child gets no parent. Every link below
#: REVIEW_THRESHOLD goes to review; from 0.8 down to 0.7 the links were right 71-77% of the time
#: and raised link F1 on every profile measured, untuned ``sparse`` included (bench/README.md)
LINK_THRESHOLD = 0.7
#: a kept link below this posterior, or with a rival above REVIEW_RIVAL, goes to review
REVIEW_THRESHOLD = 0.95
REVIEW_RIVAL = 0.05
#: the smallest posterior of a best candidate that is worth a reviewer's time when not linked
#: (0.2 left a third of the missed links out of the queue on generated worlds; 0.05 brings
#: review coverage to 0.8 with a queue a quarter larger: bench/README.md, issue 17)
REVIEW_FLOOR = 0.05
#: prior probability that a child's parent is in the feeds at all
PARENT_PRESENT = 0.95
#: share of present parents that blocking brings among the compared candidates
BLOCKING_RECALL = 0.97
#: people compared in full per child, after the blocking pre-score
MAX_CANDIDATES = 18
#: ... and of those, only people whose pre-score is within this many points of the best one
CANDIDATE_MARGIN = 8.0
#: weight of a pending/inconclusive DNA test of the pair (the adult named the child)
DNA_TESTED_WEIGHT = 8.0
#: how many runner-up candidates a child keeps, and the smallest posterior worth showing
MAX_RUNNERS_UP = 3
CANDIDATE_FLOOR = 0.001
#: a kept link with this posterior (or a decisive DNA result or review) vouches for its adult
CONFIDENT = 0.95


#: posteriors above this are scored as this (links this sure were right 99.96% of the time, and
#: a log-odds without a bound would weigh a few of them more than every other link in the fit)
CALIBRATION_CAP = 0.9999


class Calibration(NamedTuple):
    """A logistic map of a posterior to the share of links that were right: the score's log-odds
    are ``log_odds`` × the posterior's log-odds + ``log_people`` × ln(people) + ``intercept``."""

    log_odds: float
    log_people: float
    intercept: float

    @staticmethod
    def inputs(posterior: float, n_people: int) -> tuple[float, float, float]:
        """What the weights multiply: the capped posterior's log-odds, ln(people), 1."""
        p = min(posterior, CALIBRATION_CAP)
        return (math.log(p / (1.0 - p)), math.log(n_people), 1.0)

    def score(self, posterior: float, n_people: int) -> float:
        """The share of links right the map gives a posterior among ``n_people`` people."""
        z, ln_people, one = self.inputs(posterior, n_people)
        s = self.log_odds * z + self.log_people * ln_people + self.intercept * one
        return 1.0 / (1.0 + math.exp(-s))


#: The exported match score of a posterior, fitted (maximum likelihood, ``bench.calibration_fit``)
#: on 32,673 links of twelve generated worlds of 2,300 to 20,000 children of a noise mix none of the
#: measured profiles has (halfway between ``default`` and ``sparse``). Posteriors overclaim (the
#: model's evidence is not independent), and more in a larger population: the same posterior was
#: right less often among 154,000 people than among 18,000, so the people count is the second
#: input. Decisions keep the posterior; only the score a reader sees is mapped. A decisive DNA
#: result or a confirmation stays 1.0.
CALIBRATION = Calibration(log_odds=0.8206, log_people=-0.1590, intercept=1.7317)
#: the people counts of the fit worlds: outside them the nearest is taken, not extrapolated
CALIBRATION_PEOPLE = (17_700, 154_400)


def calibrated(posterior: float, n_people: int) -> float:
    """The match score of a link with this posterior among ``n_people`` people (below
    :data:`LINK_THRESHOLD`, a runner-up's share, scaled down with the threshold's score)."""
    if posterior >= 1.0:
        return 1.0
    if posterior < LINK_THRESHOLD:
        return posterior * calibrated(LINK_THRESHOLD, n_people) / LINK_THRESHOLD
    low, high = CALIBRATION_PEOPLE
    return CALIBRATION.score(posterior, min(max(n_people, low), high))


@dataclass(slots=True)
class Link:
    """The person chosen as one child's parent (or the best rejected candidate, for review)."""

    person: Person
    score: float
    evidence: list[str]
    dna_exclusion: bool = False


@dataclass(slots=True)
class LinkOutcome:
    """What linking decided for one child group, and the runner-up candidates a reviewer sees."""

    link: Link | None
    needs_review: bool
    candidates: list[Link] = field(default_factory=list)


def _evidence(model: Model, gamma: Gamma) -> list[str]:
    """The evidence lines of a comparison vector: each level that weighs half a bit or more
    (a null level weighs nothing), heaviest first."""
    items: list[tuple[float, str]] = []
    for f, w in enumerate(model.weights(gamma)):
        level = COMPARISONS[f].levels[gamma[0][f]]
        if not level.null and abs(w) >= 0.5:
            items.append((w, f"{level.label} ({w:+.1f})"))
    items.sort(key=lambda it: -abs(it[0]))
    return [text for _, text in items]


#: surname and claim levels that make an adult kin-like to a child (families.py's "another family"
#: weight spares them)
_KIN_SURNAME = frozenset(
    {Surname.SPANISH.index, Surname.BOTH.index, Surname.SHARED.index, Surname.NEAR.index}
)
_KIN_CLAIM = frozenset({Claimed.NAME_AND_DOB.index, Claimed.NAME.index})
_SURNAME_F, _CLAIM_F = FIELDS.index(Surname.name), FIELDS.index(Claimed.name)


def kin_like(gamma: Gamma) -> bool:
    """The adult shares a surname (or a near one) with the child, or claimed it by name."""
    levels = gamma[0]
    return levels[_SURNAME_F] in _KIN_SURNAME or levels[_CLAIM_F] in _KIN_CLAIM


#: the levels that point at this adult rather than at anyone of the same day, station, surname and
#: country: a shared event id, the reported parent's name, a claim of this child
_IDENTIFYING: tuple[tuple[int, frozenset[int]], ...] = (
    (FIELDS.index(Event.name), frozenset({Event.SAME.index})),
    (
        FIELDS.index(ParentName.name),
        frozenset({ParentName.MATCHES.index, ParentName.GIVEN_MATCHES.index, ParentName.NEAR.index}),
    ),
    (
        _CLAIM_F,
        frozenset(
            {
                Claimed.NAME_AND_DOB.index,
                Claimed.NAME.index,
                Claimed.SURNAME_AND_DOB.index,
                Claimed.NAME_OTHER_DOB.index,
            }
        ),
    ),
)


def circumstantial(gamma: Gamma) -> bool:
    """The pair agrees on no identifying evidence: only on date, station, surname, country and
    the like, which an unrelated adult of the same family name apprehended with the child shares
    (links resting on them alone were right 83% of the time on a sparse world: issue 17)."""
    return not any(gamma[0][f] in levels for f, levels in _IDENTIFYING)


def confident(outcome: LinkOutcome) -> bool:
    """A link the family pass does not revisit, and whose adult vouches for the child's siblings."""
    link = outcome.link
    return link is not None and not link.dna_exclusion and link.score >= CONFIDENT


@dataclass(slots=True)
class FirstLink:
    """The first pass over one child: the people a DNA test names (with the latest result), the
    (person, comparison vector) pairs compared, and the outcome. The family pass starts here.
    ``runner_pairs``: for a child whose linked adult DNA excluded, the pairs its runner-ups were
    weighed from (None for every other child)."""

    cview: ChildView
    tested: dict[int, str]
    pairs: list[tuple[int, Gamma]]
    outcome: LinkOutcome
    runner_pairs: list[tuple[int, Gamma]] | None = None


@dataclass(frozen=True, slots=True)
class Reused:
    """What an earlier first pass gives a child again (``link_state``): its candidates with their
    comparison vectors (None: that person's match fields changed, compared again), and the same
    for its runner-ups' candidates when it was DNA-excluded then (None: not kept, found afresh)."""

    pairs: list[tuple[int, Gamma | None]]
    runners: list[tuple[int, Gamma | None]] | None = None


@dataclass(slots=True)
class Linker:
    """Links child groups to people under one model.

    ``people`` maps pid to person: every person, or only those a partition's children can meet
    (the first pass), or only those the family pass needs (the second); ``n_people`` is the count
    of every person of the snapshot, which sets the prior. Linking a child in a partition gives
    exactly what it gives over the whole snapshot (partition.py says why).
    """

    people: Mapping[int, Person]
    n_people: int
    model: Model
    rejected: set[tuple[str, int]] = field(default_factory=set)
    confirmed: dict[str, int] = field(default_factory=dict)
    pviews: dict[int, PersonView] = field(default_factory=dict)
    #: the key sets the views share (``PersonView.of``)
    shared: Shared = field(default_factory=dict)

    def pview(self, pid: int) -> PersonView:
        """The comparison keys of one person (built once)."""
        view = self.pviews.get(pid)
        if view is None:
            view = self.pviews[pid] = PersonView.of(self.people[pid], self.shared)
        return view

    def _prior(self) -> tuple[float, float]:
        # each person is a priori equally likely to be the parent of a child whose parent is
        # in the feeds; "none of the compared candidates" keeps the rest of the mass
        prior = math.log2(PARENT_PRESENT / max(1, self.n_people))
        null = 1.0 - PARENT_PRESENT * BLOCKING_RECALL
        return prior, null

    def first_pass(
        self,
        cviews: Sequence[ChildView],
        index: BlockingIndex,
        dna: DnaIndex,
        known: Mapping[str, Reused] | None = None,
        probed: dict[str, list[Bucket]] | None = None,
    ) -> list[FirstLink]:
        """Block, compare and decide each child on its own evidence, in the order given.

        ``known``: the candidates of children whose blocking would give them again
        (``link_state``), by child key: those children are not blocked. ``probed``: children's
        buckets over ``index`` gathered already (``link_state.candidate_inputs``), by child key;
        each is taken out as its child is blocked."""
        prior, null = self._prior()
        firsts: list[FirstLink] = []
        for cview in cviews:
            key = cview.group.key
            tested = dna_people(dna.for_child(cview), index)
            reuse = known.get(key) if known is not None else None
            if reuse is not None:
                pairs = self._compared(cview, reuse.pairs)
            else:
                # the people a DNA test names, and a confirmed parent, lead the pre-score
                boosts = [(pid, 100.0) for pid in tested]
                if key in self.confirmed:
                    boosts.append((self.confirmed[key], 100.0))
                buckets = probed.pop(key, None) if probed is not None else None
                top = top_candidates(cview, index, MAX_CANDIDATES, CANDIDATE_MARGIN, boosts, buckets=buckets)
                pairs = [
                    (pid, compare(cview, self.pview(pid))) for pid in top if (key, pid) not in self.rejected
                ]
            outcome = self._decide(cview, tested, pairs, self.model, prior, null)
            runner_pairs = None
            if outcome.link is not None and outcome.link.dna_exclusion:
                kept = reuse.runners if reuse is not None else None
                if kept is not None:
                    runner_pairs = self._compared(cview, kept)
                else:
                    runner_pairs = self._runner_pairs(cview, index, tested)
                outcome.candidates = self._runners_up(cview, runner_pairs, prior, null)
            firsts.append(FirstLink(cview, tested, pairs, outcome, runner_pairs))
        return firsts

    def _compared(
        self, cview: ChildView, pairs: Sequence[tuple[int, Gamma | None]]
    ) -> list[tuple[int, Gamma]]:
        """Kept pairs, each person compared again where its comparison vector was not kept."""
        return [(pid, g if g is not None else compare(cview, self.pview(pid))) for pid, g in pairs]

    def _runner_pairs(
        self, cview: ChildView, index: BlockingIndex, tested: Mapping[int, str]
    ) -> list[tuple[int, Gamma]]:
        """The pairs a DNA-excluded child's runner-ups are weighed from: its candidates as if the
        tested adults were not in the feeds (the blocking gave them such a lead that nobody else
        was compared)."""
        key = cview.group.key
        top = top_candidates(cview, index, MAX_CANDIDATES, CANDIDATE_MARGIN, exclude=tested.keys())
        return [(pid, compare(cview, self.pview(pid))) for pid in top if (key, pid) not in self.rejected]

    def _runners_up(
        self, cview: ChildView, pairs: list[tuple[int, Gamma]], prior: float, null: float
    ) -> list[Link]:
        """For a child whose linked adult DNA excluded: who else the evidence (``pairs``, of
        :meth:`_runner_pairs`) points to, the review queue's "find the real parent"."""
        if not pairs:
            return []
        # an unconfirmed decision, without the DNA verdicts: the plain weighing of the others
        alt = Linker(self.people, self.n_people, self.model, self.rejected, {}, self.pviews, self.shared)
        found = alt._decide(cview, {}, pairs, self.model, prior, null)
        best = [Link(found.link.person, found.link.score, found.link.evidence)] if found.link else []
        return (best + found.candidates)[:MAX_RUNNERS_UP]

    def revisits(self, firsts: Sequence[FirstLink]) -> dict[int, tuple[dict[int, float], dict[int, str]]]:
        """The family evidence of each child the second pass revisits (by position in ``firsts``).

        A child's siblings that are already linked with confidence vouch for their parent (and an
        adult who is clearly the parent of another family is a poor candidate); only children
        without a confident link of their own are revisited. Needs no person records.
        """
        families = Families(
            [
                (first.cview, first.outcome.link.person.pid)
                for first in firsts
                if first.outcome.link is not None and confident(first.outcome)
            ]
        )
        out: dict[int, tuple[dict[int, float], dict[int, str]]] = {}
        if not families.sizes:
            return out
        for i, first in enumerate(firsts):
            if confident(first.outcome):
                continue
            kin = {pid for pid, gamma in first.pairs if kin_like(gamma)}
            bonus, notes = families.evidence(first.cview, [pid for pid, _ in first.pairs], kin)
            if bonus:
                out[i] = (bonus, notes)
        return out

    def revisit_people(
        self, firsts: Sequence[FirstLink], revisits: Mapping[int, tuple[dict[int, float], dict[int, str]]]
    ) -> set[int]:
        """The people the second pass reads for ``revisits``, beyond those already linked."""
        pids: set[int] = set()
        for i, (bonus, _) in revisits.items():
            first = firsts[i]
            pids.update(pid for pid, _ in first.pairs)
            pids.update(first.tested)
            pids.update(pid for pid, w in bonus.items() if w > 0)
            confirmed = self.confirmed.get(first.cview.group.key)
            if confirmed is not None:
                pids.add(confirmed)
        return pids

    def second_pass(
        self, firsts: Sequence[FirstLink], revisits: Mapping[int, tuple[dict[int, float], dict[int, str]]]
    ) -> list[LinkOutcome]:
        """Decide the revisited children again with their family evidence; one outcome per child."""
        prior, null = self._prior()
        outcomes: list[LinkOutcome] = []
        for i, first in enumerate(firsts):
            found = revisits.get(i)
            if found is None:
                outcomes.append(first.outcome)
                continue
            bonus, notes = found
            cview = first.cview
            key = cview.group.key
            have = {pid for pid, _ in first.pairs}
            extra = [
                (pid, compare(cview, self.pview(pid)))
                for pid, w in bonus.items()
                if w > 0 and pid not in have and (key, pid) not in self.rejected
            ]
            again = self._decide(
                cview, first.tested, first.pairs + extra, self.model, prior, null, bonus, notes
            )
            if again.link is not None and again.link.dna_exclusion and not again.candidates:
                again.candidates = first.outcome.candidates  # the first pass's runner-ups stand
            outcomes.append(again)
        return outcomes

    def _decide(
        self,
        cview: ChildView,
        tested: dict[int, str],
        pairs: list[tuple[int, Gamma]],
        model: Model,
        prior: float,
        null: float,
        bonus: dict[int, float] | None = None,
        notes: dict[int, str] | None = None,
    ) -> LinkOutcome:
        key = cview.group.key
        gammas = dict(pairs)
        # a confirmed review decision links unless DNA excluded that adult
        confirmed = self.confirmed.get(key)
        if confirmed is not None and tested.get(confirmed) != "exclusion":
            evidence = ["confirmed by review"] + (
                _evidence(model, gammas[confirmed]) if confirmed in gammas else []
            )
            return LinkOutcome(Link(self.people[confirmed], 1.0, evidence), False)
        for verdict, text in (
            ("match", "DNA match (decisive)"),
            ("exclusion", "DNA test of this adult and child"),
        ):
            hits = [pid for pid, res in tested.items() if res == verdict and (key, pid) not in self.rejected]
            if len(hits) == 1:
                pid = hits[0]
                evidence = [text, *(_evidence(model, gammas[pid]) if pid in gammas else [])]
                return LinkOutcome(
                    Link(self.people[pid], 1.0, evidence, dna_exclusion=verdict == "exclusion"), False
                )
        if not pairs:
            return LinkOutcome(None, False)
        weights = {
            pid: prior
            + model.weight(gamma)
            + (DNA_TESTED_WEIGHT if pid in tested else 0.0)
            + (bonus.get(pid, 0.0) if bonus else 0.0)
            for pid, gamma in pairs
        }
        top_w = max(weights.values())
        odds = {pid: 2.0 ** (w - top_w) for pid, w in weights.items()}
        denom = null * 2.0 ** (-top_w) + sum(odds.values())
        ranked = sorted(odds, key=lambda pid: (-odds[pid], pid))
        best = ranked[0]
        posterior = odds[best] / denom
        rival = odds[ranked[1]] / denom if len(ranked) > 1 else 0.0
        needs_review = (REVIEW_FLOOR <= posterior < REVIEW_THRESHOLD) or rival >= REVIEW_RIVAL
        linked = posterior >= LINK_THRESHOLD
        # Runner-ups (and, when nothing clears the bar, the best too) for the review queue and
        # `reunify show`; only those with a real share of the probability.
        candidates = [
            Link(self.people[pid], odds[pid] / denom, _evidence(model, gammas[pid]))
            for pid in ranked[1 if linked else 0 : MAX_RUNNERS_UP + (1 if linked else 0)]
            if odds[pid] / denom >= CANDIDATE_FLOOR
        ]
        if not linked:
            return LinkOutcome(None, needs_review and posterior >= REVIEW_FLOOR, candidates)
        if best not in tested and (not bonus or bonus.get(best, 0.0) <= 0) and circumstantial(gammas[best]):
            needs_review = True  # no DNA test, sibling nor identifying evidence: a person looks
        evidence = _evidence(model, gammas[best])
        if notes and best in notes:
            evidence.insert(0, notes[best])
        if best in tested:
            evidence.insert(0, f"DNA test of this adult and child (+{DNA_TESTED_WEIGHT:.1f})")
        return LinkOutcome(Link(self.people[best], posterior, evidence), needs_review, candidates)
