"""The first-pass links of a reconciliation, kept so that the next one under the same model
re-links only the children a change touches (issue 19 item 3, issue 16 item 8).

A child's first pass (blocking, pre-score, comparisons: ``Linker.first_pass``) is a function of its
records, the DNA results naming it (resolved to people), the review decisions for it, the model, and
the people of the blocking buckets it probes. The candidates (blocking and pre-score) read of those
people only which buckets they are in (their ICE records' keys), their countries (the pre-score's
country penalty) and who was apprehended on several days; the comparison vector of a candidate reads
the candidate's records. So each child gets a fingerprint of its own inputs and of the membership of
the buckets it probes; a later reconciliation under the same model and the same matcher source
reuses the candidates of each child whose fingerprint is unchanged, with each candidate's comparison
vector unless that person's match fields changed (then it is compared again, a cheap step), and
links the rest afresh. Decisions (``_decide``: the prior depends on the number of people) are always
made again.

People are named by their smallest ICE record id (pids are positions that shift between runs).
That names one person in each run, and it is all the candidates need: what they read of a
person's records is which buckets the person is in, which the fingerprint holds. It is also the
order of the pids (ties in the pre-score go to the lower pid): ``build_people`` numbers people in
the order of their first ICE record id; :func:`identities` checks that this holds, and a
reconciliation where it does not reuses nothing and keeps nothing.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from itertools import pairwise
from operator import attrgetter
from pathlib import Path
from typing import Any

import msgspec

from pipeline.errors import MatchStateError
from pipeline.match.adults import Person
from pipeline.match.blocking import BlockingIndex, Bucket, DnaIndex, dna_people, weighted_buckets
from pipeline.match.comparisons import Gamma
from pipeline.match.link import FirstLink, Reused
from pipeline.match.model import Model
from pipeline.match.state import model_to_json
from pipeline.match.views import ChildView
from pipeline.records import FeedSnapshot

#: the version of the serialised form; raise it when the form changes shape or when the rules
#: that made what it keeps change (6: removal rows meet ICE records on the day of birth), so that
#: a run never reuses what an older rule decided
LINK_STATE_VERSION = 6
#: the size of every digest here
DIGEST_BYTES = 16

_encode = msgspec.msgpack.Encoder().encode
# sorted keys: a model read back from its JSON digests as the one that was written
_encode_sorted = msgspec.msgpack.Encoder(order="sorted").encode


def _digest(data: bytes) -> bytes:
    # hashlib, not hash(): Python's string hash is salted per process
    return hashlib.blake2b(data, digest_size=DIGEST_BYTES).digest()


#: the fields of a person's records that the blocking index and the person's comparison keys
#: (``PersonView``) read, beside the record ids; the others (custody, facility, removal date and
#: port, update time) change no candidate nor comparison vector (pinned by a test). The A-number
#: reaches the first pass only through the DNA results, which are fingerprinted resolved.
ICE_MATCH_FIELDS = attrgetter(
    "first_name",
    "last_name",
    "dob",
    "sex",
    "country",
    "event_id",
    "apprehension_date",
    "station",
    "claimed_children",
)
REMOVAL_MATCH_FIELDS = attrgetter("first_name", "last_name", "dob", "country")


def person_match_digest(person: Person) -> bytes:
    """A hash of what a comparison reads of a person: the match fields of their records, in
    order, with the records' ids."""
    return _digest(
        _encode(
            (
                [r.record_id for r in person.ice],
                [r.record_id for r in person.removals],
                [ICE_MATCH_FIELDS(r) for r in person.ice],
                [REMOVAL_MATCH_FIELDS(r) for r in person.removals],
            )
        )
    )


def _child_view_digest(cview: ChildView) -> bytes:
    """A hash of a child's comparison keys (what the first pass reads of it), sets in a fixed
    order (string sets iterate in an order salted per process)."""
    parts: list[Any] = [cview.group.key, cview.group.record_ids]
    for f in fields(cview):
        if f.name == "group":
            continue
        value = getattr(cview, f.name)
        parts.append(sorted(value, key=repr) if isinstance(value, frozenset) else value)
    return _digest(_encode(parts))


def records_digest(*feeds: Sequence[Any]) -> bytes:
    """A content hash of records, feed by feed, in order (the store's record id order)."""
    h = hashlib.blake2b(digest_size=DIGEST_BYTES)
    for records in feeds:
        h.update(_encode(records))
    return h.digest()


def snapshot_digests(snapshot: FeedSnapshot) -> tuple[bytes, bytes, bytes]:
    """The content hashes of a (screened) snapshot's adults and removal rows (what the people
    are built of), of its shelter records (what the child groups are), and of all its records
    (what each child's candidate inputs are derived of)."""
    people = records_digest(snapshot.adults, snapshot.removals)
    children = records_digest(snapshot.children)
    return people, children, _digest(people + children + records_digest(snapshot.dna))


@dataclass(frozen=True, slots=True)
class KeptInputs:
    """What a reconciliation derived from its records that the next one over the same records
    need not derive again: who the people are (``adults.recognise_people``) under the digest of the adults
    and removal rows; the child groups (``children.group_owners``, groups in key order) under
    the digest of the shelter records; each child's candidate-input digest (its fingerprint
    before review decisions, in child key order) under the digest of every record. A run
    without fetching reconciles the very records of the run before it: only the decisions are
    new."""

    people_digest: bytes
    ice_owner: tuple[int, ...]
    row_owner: tuple[int, ...]
    children_digest: bytes
    group_owner: tuple[int, ...]
    snapshot_digest: bytes
    inputs: tuple[bytes, ...]

    def inputs_for(self, snapshot_digest: bytes, children: int) -> tuple[bytes, ...] | None:
        """The kept candidate-input digests, when they were derived of these records."""
        if snapshot_digest != self.snapshot_digest or len(self.inputs) != children:
            return None
        return self.inputs


def model_digest(model: Model) -> bytes:
    """A content hash of the model's weights and name-frequency tables."""
    return _digest(_encode_sorted(model_to_json(model)))


@cache
def matcher_digest() -> str:
    """A hash of the matcher's source (pipeline/match, normalise, dna): links kept by another
    version of the blocking or the comparisons are never reused."""
    match_dir = Path(__file__).resolve().parent
    sources = [*sorted(match_dir.glob("*.py"))] + [match_dir.parent / n for n in ("normalise.py", "dna.py")]
    h = hashlib.blake2b(digest_size=DIGEST_BYTES)
    for path in sources:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def identities(people: Sequence[Person]) -> tuple[list[str], bool]:
    """Each person's name across runs, their smallest ICE record id, by pid; and whether the pids
    follow them (so that people keep their relative order between runs)."""
    names = [min((r.record_id for r in person.ice), default="") for person in people]
    ordered = all(names) and all(a < b for a, b in pairwise(names))
    return names, ordered


#: a kept pair: (person identity, person match digest, comparison vector)
KeptPair = tuple[str, bytes, Gamma]
#: a pair given again: (pid, comparison vector, or None where the person is compared again)
_Reusable = tuple[int, Gamma | None]


@dataclass(frozen=True, slots=True)
class ChildLinks:
    """One child's fingerprint and its compared pairs; its runner-ups' pairs when it was
    DNA-excluded (None otherwise); and the review decisions its fingerprint holds (the people
    rejected and confirmed for it, by identity), so that a later reconciliation whose only
    change for the child is another rejection can still reuse its candidates."""

    fingerprint: bytes
    pairs: tuple[KeptPair, ...]
    runners: tuple[KeptPair, ...] | None = None
    rejected: tuple[str, ...] = ()
    confirmed: str | None = None


@dataclass(slots=True)
class Fingerprints:
    """The fingerprint of every child (by position in the sorted child groups) and the identity
    of every person (by pid) of one reconciliation; ``ordered``: see :func:`identities`. Match
    digests are computed for the people that need one only."""

    children: list[bytes]
    people: list[str]
    ordered: bool
    persons: Sequence[Person]
    #: each child's candidate inputs before review decisions (``KeptInputs.inputs``)
    inputs: Sequence[bytes] = ()
    #: the review decisions of each child that has any, by position: the identities of the
    #: people rejected for it (sorted) and of the one confirmed (or None)
    decided: dict[int, tuple[tuple[str, ...], str | None]] = field(default_factory=dict)
    matches: dict[int, bytes] = field(default_factory=dict)

    def match(self, pid: int) -> bytes:
        """The match digest of one person (computed once)."""
        found = self.matches.get(pid)
        if found is None:
            found = self.matches[pid] = person_match_digest(self.persons[pid])
        return found


def fingerprint(
    cviews: Sequence[ChildView],
    people: Sequence[Person],
    index: BlockingIndex,
    dna: DnaIndex,
    rejected: set[tuple[str, int]],
    confirmed: Mapping[str, int],
    inputs: Sequence[bytes] | None = None,
    probed: dict[str, list[Bucket]] | None = None,
) -> Fingerprints:
    """Fingerprint each child's candidate inputs: its comparison keys, the people its DNA results
    name (with the latest verdicts, in the order the first pass reads them), the members of every
    bucket its pre-score reads, with their countries and those of them apprehended on several days
    (``index`` is the whole snapshot's): its input digest, or ``inputs[i]`` when given (the kept
    digests of the same records: ``KeptInputs``); then the people reviewers rejected and confirmed
    for it. ``probed``: see :func:`candidate_inputs` (filled only when ``inputs`` is None)."""
    idents, ordered = identities(people)
    if inputs is None:
        inputs = candidate_inputs(cviews, idents, index, dna, probed)
    rejected_of: dict[str, list[str]] = defaultdict(list)
    for key, pid in rejected:
        rejected_of[key].append(idents[pid])
    out: list[bytes] = []
    decided: dict[int, tuple[tuple[str, ...], str | None]] = {}
    for i, (cview, digest) in enumerate(zip(cviews, inputs, strict=True)):
        key = cview.group.key
        conf = confirmed.get(key)
        mine = rejected_of.get(key)
        if mine is not None or conf is not None:
            decided[i] = (tuple(sorted(mine or ())), idents[conf] if conf is not None else None)
        out.append(_child_fingerprint(digest, *decided.get(i, ((), None))))
    return Fingerprints(out, idents, ordered, people, inputs, decided)


def _child_fingerprint(inputs: bytes, rejected: Sequence[str], confirmed: str | None) -> bytes:
    """A child's fingerprint: its input digest alone when no decision names it, else a digest of
    it with the identities of the people rejected for it (sorted) and of the one confirmed."""
    if not rejected and confirmed is None:
        return inputs
    return _digest(_encode((inputs, list(rejected), confirmed)))


def candidate_inputs(
    cviews: Sequence[ChildView],
    idents: Sequence[str],
    index: BlockingIndex,
    dna: DnaIndex,
    probed: dict[str, list[Bucket]] | None = None,
) -> list[bytes]:
    """Each child's input digest of :func:`fingerprint`, before review decisions. ``probed``,
    when given, gains each child's buckets by child key, for its pre-score to take
    (``top_candidates``) rather than probe the index again."""
    # the pre-score also reads each candidate's countries (blocking.COUNTRY_PENALTY), which a
    # removal row can change without moving the person into another bucket
    countries_of: dict[int, list[str]] = defaultdict(list)
    for country, pids in sorted(index.of_country.items()):
        for pid in pids:
            countries_of[pid].append(country)
    # each person encoded once (msgpack items delimit themselves, so their concatenation with
    # the counts in front is unambiguous), and each bucket digested once: by the identity of its
    # member list, one per key for the index's life
    member = [_encode((ident, countries_of.get(pid, []))) for pid, ident in enumerate(idents)]
    several_of = index.multi_day
    buckets: dict[int, bytes] = {}
    out: list[bytes] = []
    for cview in cviews:
        parts: list[bytes] = []
        probes = weighted_buckets(cview, index)
        if probed is not None:
            probed[cview.group.key] = probes
        for found, _, _, bkey in probes:
            digest = buckets.get(id(found))
            if digest is None:
                several = several_of.get(bkey, ())
                digest = buckets[id(found)] = _digest(
                    b"".join(
                        (
                            _encode((bkey, len(found), len(several))),
                            *[member[pid] for pid in found],
                            *[_encode(idents[pid]) for pid in several],
                        )
                    )
                )
            parts.append(digest)
        # the buckets' order follows the child's string sets, salted per process: sorted
        parts.sort()
        tested = dna_people(dna.for_child(cview), index)
        out.append(
            _digest(
                _encode(
                    (
                        _child_view_digest(cview),
                        [(idents[pid], res) for pid, res in tested.items()],
                        b"".join(parts),
                    )
                )
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class LinkState:
    """Each child's first-pass pairs, by child key, under the model of digest ``model``, and what
    the reconciliation derived of its records (``kept``; None where not kept)."""

    model: bytes
    matcher: str = field(default_factory=matcher_digest)
    children: dict[str, ChildLinks] = field(default_factory=dict)
    kept: KeptInputs | None = None

    @classmethod
    def of(
        cls, firsts: Sequence[FirstLink], prints: Fingerprints, model: Model, kept: KeptInputs | None = None
    ) -> LinkState:
        """The state of a first pass (``firsts`` in the order of ``prints.children``); no links
        when the people were not in order (nothing of them could be reused)."""
        children: dict[str, ChildLinks] = {}
        if prints.ordered:
            idents = prints.people

            def kept_pairs(pairs: Sequence[tuple[int, Gamma]]) -> tuple[KeptPair, ...]:
                return tuple((idents[pid], prints.match(pid), gamma) for pid, gamma in pairs)

            for i, (first, fp) in enumerate(zip(firsts, prints.children, strict=True)):
                rejected, confirmed = prints.decided.get(i, ((), None))
                runners = first.runner_pairs
                children[first.cview.group.key] = ChildLinks(
                    fp,
                    kept_pairs(first.pairs),
                    kept_pairs(runners) if runners is not None else None,
                    rejected,
                    confirmed,
                )
        return cls(model_digest(model), matcher_digest(), children, kept)

    def reusable(self, cviews: Sequence[ChildView], prints: Fingerprints, model: Model) -> dict[str, Reused]:
        """The pairs (with this reconciliation's pids, the comparison vector None where the
        person's match fields changed) of each child whose candidates are those of this state, by
        child key: its fingerprint is unchanged, or only more people were rejected for it (the
        same inputs, the same confirmation: the blocking gives the same people, less those).
        Nothing under another model or matcher, or when either reconciliation's people were not
        in order."""
        if not prints.ordered or self.matcher != matcher_digest() or self.model != model_digest(model):
            return {}
        pid_of = {ident: pid for pid, ident in enumerate(prints.people)}
        out: dict[str, Reused] = {}

        def taken(pairs: Sequence[KeptPair], dropped: Collection[str]) -> list[_Reusable] | None:
            found: list[_Reusable] = []
            for ident, match, gamma in pairs:
                if ident in dropped:
                    continue
                pid = pid_of.get(ident)
                if pid is None:
                    return None  # cannot happen with the same inputs: link it afresh
                found.append((pid, gamma if prints.match(pid) == match else None))
            return found

        for i, (cview, fp) in enumerate(zip(cviews, prints.children, strict=True)):
            key = cview.group.key
            kept = self.children.get(key)
            if kept is None:
                continue
            dropped: Collection[str] = ()
            if kept.fingerprint != fp:
                dropped = self._newly_rejected(kept, prints, i)
                if not dropped:
                    continue
            pairs = taken(kept.pairs, dropped)
            runners = taken(kept.runners, dropped) if kept.runners is not None else None
            if pairs is not None and (kept.runners is None or runners is not None):
                out[key] = Reused(pairs, runners)
        return out

    @staticmethod
    def _newly_rejected(kept: ChildLinks, prints: Fingerprints, i: int) -> frozenset[str]:
        """The people rejected for child ``i`` since ``kept`` was made, when that is all that
        changed for it (its inputs and its confirmation the same, no rejection withdrawn);
        otherwise nothing."""
        rejected, confirmed = prints.decided.get(i, ((), None))
        if confirmed != kept.confirmed or not prints.inputs:
            return frozenset()
        now = frozenset(rejected)
        if not now.issuperset(kept.rejected) or len(now) == len(kept.rejected):
            return frozenset()
        # the kept fingerprint is that of these inputs under the kept decisions: the same inputs
        if _child_fingerprint(prints.inputs[i], kept.rejected, kept.confirmed) != kept.fingerprint:
            return frozenset()
        return now - frozenset(kept.rejected)


def dumps(state: LinkState) -> str:
    """The state as compact text (msgpack, deflated, base64): people named once each."""
    table: dict[tuple[str, bytes], int] = {}
    children: list[Any] = []

    def packed(pairs: Sequence[KeptPair]) -> list[Any]:
        return [[table.setdefault((who, match), len(table)), lv, terms] for who, match, (lv, terms) in pairs]

    for key, kept in state.children.items():
        entry: list[Any] = [key, kept.fingerprint, packed(kept.pairs)]
        if kept.runners is not None or kept.rejected or kept.confirmed is not None:
            # most children have neither: their entry stays three items long
            runners = packed(kept.runners) if kept.runners is not None else None
            entry += [runners, list(kept.rejected), kept.confirmed]
        children.append(entry)
    inputs = state.kept
    body = _encode(
        {
            "version": LINK_STATE_VERSION,
            "matcher": state.matcher,
            "model": state.model,
            "people": list(table),
            "children": children,
            "kept": None
            if inputs is None
            else [
                inputs.people_digest,
                inputs.ice_owner,
                inputs.row_owner,
                inputs.children_digest,
                inputs.group_owner,
                inputs.snapshot_digest,
                b"".join(inputs.inputs),
            ],
        }
    )
    return base64.b64encode(zlib.compress(body, 1)).decode("ascii")


def loads(text: str) -> LinkState:
    """A state again; MatchStateError when it is unreadable or of another version."""
    try:
        obj = msgspec.msgpack.decode(zlib.decompress(base64.b64decode(text)))
    except (ValueError, zlib.error, msgspec.DecodeError) as exc:
        raise MatchStateError(f"the kept link state is unreadable ({type(exc).__name__})") from exc
    if not isinstance(obj, dict) or obj.get("version") != LINK_STATE_VERSION:
        raise MatchStateError("the kept link state is of another version")
    people = [(str(ident), bytes(match)) for ident, match in obj["people"]]

    def unpacked(pairs: list[Any]) -> tuple[KeptPair, ...]:
        return tuple((*people[i], (tuple(levels), tuple(terms))) for i, levels, terms in pairs)

    children: dict[str, ChildLinks] = {}
    for key, fp, pairs, *more in obj["children"]:
        runners, rejected, confirmed = more or (None, (), None)
        children[str(key)] = ChildLinks(
            bytes(fp),
            unpacked(pairs),
            unpacked(runners) if runners is not None else None,
            tuple(str(r) for r in rejected),
            str(confirmed) if confirmed is not None else None,
        )
    kept: KeptInputs | None = None
    if obj.get("kept") is not None:
        people_digest, ice, rows, children_digest, groups, snapshot, joined = obj["kept"]
        joined = bytes(joined)
        kept = KeptInputs(
            bytes(people_digest),
            tuple(ice),
            tuple(rows),
            bytes(children_digest),
            tuple(groups),
            bytes(snapshot),
            tuple(joined[i : i + DIGEST_BYTES] for i in range(0, len(joined), DIGEST_BYTES)),
        )
    return LinkState(bytes(obj["model"]), str(obj["matcher"]), children, kept)
