"""The first-pass links of a reconciliation, kept so that the next one under the same model
re-links only the children a change touches (issue 19 item 3, issue 16 item 8).

A child's first pass (blocking, pre-score, comparisons: ``Linker.first_pass``) is a function of
its records, the DNA results naming it (resolved to people), the review decisions for it, the
model, and the people of the blocking buckets it probes. Each child gets a fingerprint of all of
them but the model (which the state carries once); a later reconciliation under the same model
and the same matcher source reuses the compared pairs of each child whose fingerprint is
unchanged, and links the rest afresh. Decisions (``_decide``: the prior depends on the number of
people) are always made again.

People are named by a content hash of their records (their pids are positions that shift between
runs). Reusing pairs also needs the people's relative order to be the same, as ties in the
pre-score go to the lower pid: ``build_people`` numbers people in the order of their first ICE
record id, so two people with the same records keep their order; :func:`ordered_people` checks
that this holds, and a reconciliation where it does not reuses nothing and keeps nothing.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from itertools import pairwise
from operator import attrgetter
from pathlib import Path
from typing import Any

import msgspec

from pipeline.errors import MatchStateError
from pipeline.match.adults import Person
from pipeline.match.blocking import BlockingIndex, DnaIndex, dna_people, probed_buckets
from pipeline.match.comparisons import Gamma
from pipeline.match.link import FirstLink
from pipeline.match.model import Model
from pipeline.match.state import model_to_json
from pipeline.match.views import ChildView

#: the version of the serialised form; raise it when the form changes shape
LINK_STATE_VERSION = 1
_DIGEST_BYTES = 16

_encode = msgspec.msgpack.Encoder().encode
# sorted keys: a model read back from its JSON digests as the one that was written
_encode_sorted = msgspec.msgpack.Encoder(order="sorted").encode


def _digest(data: bytes) -> bytes:
    # hashlib, not hash(): Python's string hash is salted per process
    return hashlib.blake2b(data, digest_size=_DIGEST_BYTES).digest()


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


def person_identity(person: Person) -> bytes:
    """A stable name of a person across runs: a hash of their record ids (ICE then removals, in
    the person's order)."""
    return _digest(_encode(([r.record_id for r in person.ice], [r.record_id for r in person.removals])))


def person_match_digest(person: Person, identity: bytes) -> bytes:
    """A hash of what the first pass reads of a person: their identity and the match fields of
    their records, in order."""
    return _digest(
        _encode(
            (
                identity,
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
        parts.append(sorted(value, key=repr) if isinstance(value, set) else value)
    return _digest(_encode(parts))


def model_digest(model: Model) -> bytes:
    """A content hash of the model's weights and name-frequency tables."""
    return _digest(_encode_sorted(model_to_json(model)))


@cache
def matcher_digest() -> str:
    """A hash of the matcher's source (pipeline/match, normalise, dna): links kept by another
    version of the blocking or the comparisons are never reused."""
    match_dir = Path(__file__).resolve().parent
    sources = [*sorted(match_dir.glob("*.py"))] + [match_dir.parent / n for n in ("normalise.py", "dna.py")]
    h = hashlib.blake2b(digest_size=_DIGEST_BYTES)
    for path in sources:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def ordered_people(people: Sequence[Person]) -> bool:
    """Pids follow the people's smallest ICE record ids (so unchanged people keep their order)."""
    firsts: list[str] = []
    for person in people:
        if not person.ice:
            return False
        firsts.append(min(r.record_id for r in person.ice))
    return all(a < b for a, b in pairwise(firsts))


@dataclass(frozen=True, slots=True)
class ChildLinks:
    """One child's fingerprint and its compared pairs, people by identity."""

    fingerprint: bytes
    pairs: tuple[tuple[bytes, Gamma], ...]


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """The fingerprint of every child (by position in the sorted child groups) and the identity
    of every person (by pid) of one reconciliation; ``ordered``: see :func:`ordered_people`."""

    children: list[bytes]
    people: list[bytes]
    ordered: bool


def fingerprint(
    cviews: Sequence[ChildView],
    people: Sequence[Person],
    index: BlockingIndex,
    dna: DnaIndex,
    rejected: set[tuple[str, int]],
    confirmed: Mapping[str, int],
) -> Fingerprints:
    """Fingerprint each child's first-pass inputs: its records, the people its DNA results name
    (with the latest verdicts, in the order the first pass reads them), the people reviewers
    rejected and confirmed for it, and the members of every bucket its pre-score reads
    (``index`` is the whole snapshot's)."""
    idents = [person_identity(p) for p in people]
    views = [person_match_digest(p, ident) for p, ident in zip(people, idents, strict=True)]
    rejected_of: dict[str, list[bytes]] = defaultdict(list)
    for key, pid in rejected:
        rejected_of[key].append(idents[pid])
    buckets: dict[tuple[object, ...], bytes] = {}
    out: list[bytes] = []
    for cview in cviews:
        key = cview.group.key
        parts: list[bytes] = []
        for found, bkey in probed_buckets(cview, index):
            digest = buckets.get(bkey)
            if digest is None:
                digest = buckets[bkey] = _digest(_encode((bkey, [views[pid] for pid in found])))
            parts.append(digest)
        # the buckets' order follows the child's string sets, salted per process: sorted
        parts.sort()
        tested = dna_people(dna.for_child(cview), index)
        conf = confirmed.get(key)
        out.append(
            _digest(
                _encode(
                    (
                        _child_view_digest(cview),
                        [(views[pid], res) for pid, res in tested.items()],
                        sorted(rejected_of.get(key, ())),
                        views[conf] if conf is not None else None,
                        b"".join(parts),
                    )
                )
            )
        )
    return Fingerprints(out, idents, ordered_people(people))


@dataclass(frozen=True, slots=True)
class LinkState:
    """Each child's first-pass pairs, by child key, under the model of digest ``model``."""

    model: bytes
    matcher: str = field(default_factory=matcher_digest)
    children: dict[str, ChildLinks] = field(default_factory=dict)

    @classmethod
    def of(cls, firsts: Sequence[FirstLink], prints: Fingerprints, model: Model) -> LinkState:
        """The state of a first pass (``firsts`` in the order of ``prints.children``); empty when
        the people were not in order (nothing of it could be reused)."""
        children: dict[str, ChildLinks] = {}
        if prints.ordered:
            idents = prints.people
            for first, fp in zip(firsts, prints.children, strict=True):
                children[first.cview.group.key] = ChildLinks(
                    fp, tuple((idents[pid], gamma) for pid, gamma in first.pairs)
                )
        return cls(model_digest(model), matcher_digest(), children)

    def reusable(
        self, cviews: Sequence[ChildView], prints: Fingerprints, model: Model
    ) -> dict[str, list[tuple[int, Gamma]]]:
        """The pairs (with this reconciliation's pids) of each child whose first-pass inputs are
        unchanged, by child key; nothing under another model or matcher, or when either
        reconciliation's people were not in order."""
        if not prints.ordered or self.matcher != matcher_digest() or self.model != model_digest(model):
            return {}
        pid_of = {ident: pid for pid, ident in enumerate(prints.people)}
        out: dict[str, list[tuple[int, Gamma]]] = {}
        for cview, fp in zip(cviews, prints.children, strict=True):
            key = cview.group.key
            kept = self.children.get(key)
            if kept is None or kept.fingerprint != fp:
                continue
            pairs: list[tuple[int, Gamma]] = []
            for ident, gamma in kept.pairs:
                pid = pid_of.get(ident)
                if pid is None:
                    break  # cannot happen with an unchanged fingerprint: link it afresh
                pairs.append((pid, gamma))
            else:
                out[key] = pairs
        return out


def dumps(state: LinkState) -> str:
    """The state as compact text (msgpack, deflated, base64): people named once each."""
    table: dict[bytes, int] = {}
    children: list[Any] = []
    for key, kept in state.children.items():
        pairs = [[table.setdefault(ident, len(table)), lv, terms] for ident, (lv, terms) in kept.pairs]
        children.append([key, kept.fingerprint, pairs])
    body = _encode(
        {
            "version": LINK_STATE_VERSION,
            "matcher": state.matcher,
            "model": state.model,
            "people": list(table),
            "children": children,
        }
    )
    return base64.b64encode(zlib.compress(body, 6)).decode("ascii")


def loads(text: str) -> LinkState:
    """A state again; MatchStateError when it is unreadable or of another version."""
    try:
        obj = msgspec.msgpack.decode(zlib.decompress(base64.b64decode(text)))
    except (ValueError, zlib.error, msgspec.DecodeError) as exc:
        raise MatchStateError(f"the kept link state is unreadable ({type(exc).__name__})") from exc
    if not isinstance(obj, dict) or obj.get("version") != LINK_STATE_VERSION:
        raise MatchStateError("the kept link state is of another version")
    people: list[bytes] = obj["people"]
    children = {
        str(key): ChildLinks(
            bytes(fp), tuple((people[i], (tuple(levels), tuple(terms))) for i, levels, terms in pairs)
        )
        for key, fp, pairs in obj["children"]
    }
    return LinkState(bytes(obj["model"]), str(obj["matcher"]), children)
