"""Synthetic worlds: the four feeds' payloads plus the answer a correct reconciliation gives.

The generator reproduces the structure and noise measured on the sample world
(``../shared/samples``): families apprehended together (one adult, one to three children),
re-referred children, duplicate ICE records with a stale custody status, parents on the removal
list, DNA results, many unrelated adults who share names, countries, apprehension dates and
stations with the parents, and a few malformed records per feed. The truth is not written by
the generator directly: :func:`compute_truth` derives it from the payloads (as served) and the
hidden identity links, by the contract's business rules (CONTRACT.md section 4), so the same
function scores the sample, generated worlds and mutated worlds.

Rates live in :class:`Rates`; their defaults are the sample's measured frequencies.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import random
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from pipeline import normalise
from pipeline.errors import MalformedRecord
from pipeline.parse import REMOVAL_COLUMNS, parse_adult, parse_child, parse_dna, parse_removal
from pipeline.records import FeedSnapshot
from pipeline.results import RESOLVED_STATES, STATUSES
from pipeline.sim import names
from pipeline.sim.payloads import WorldPayloads

DEFAULT_AS_OF = date(2018, 7, 12)
REMOVALS_HEADER: tuple[str, ...] = REMOVAL_COLUMNS
FEEDS: tuple[str, ...] = ("orr", "ice", "removals", "dna")
FILES: dict[str, str] = {
    "orr": "orr_children.json",
    "ice": "ice_detainees.json",
    "removals": "removals.csv",
    "dna": "dna_results.json",
    "truth": "expected.jsonl",
    "meta": "world.json",
}
_US = frozenset({"UNITED STATES", "USA", "US", "UNITED STATES OF AMERICA"})
_ICE_STATE = {
    "detained": "in_ice_custody",
    "criminal_custody": "in_criminal_custody",
    "released": "released",
    "removed": "removed",
}
_SMALL_WORLD = 2500  # up to this many children a world spans the sample's two months


@dataclass(frozen=True)
class Rates:
    """Generator probabilities; defaults are the frequencies measured on the sample world."""

    # families
    family_sizes: tuple[float, ...] = (0.70, 0.24, 0.06)  # 1, 2, 3 children in ORR care
    parent_female: float = 0.70
    parent_absent: float = 0.02  # the parent is in no feed: no_parent_match
    fraud: float = 0.04  # the adult is not the parent: DNA exclusion
    no_evidence: float = 0.012  # child with no apprehension, reported parent, claim or DNA
    re_referral: float = 0.02  # a child with a second ORR record
    us_born: float = 0.025
    two_given: float = 0.42
    # parent custody outcome (latest event): detained, released, removed, criminal custody
    outcomes: tuple[float, ...] = (0.55, 0.18, 0.20, 0.07)
    removed_kinds: tuple[float, ...] = (0.45, 0.45, 0.10)  # ICE+row, row only, ICE only
    removal_tie: float = 0.08  # removal row dated the same day as the latest ICE record
    duplicate_ice: float = 0.02  # parent with a stale second ICE record
    serious: float = 0.07
    non_serious: float = 0.12
    history_unknown: float = 0.035
    medical_hold: float = 0.022
    # children's discharges (only when the parent is detained without safety flags)
    reunified: float = 0.26
    released_to_sponsor: float = 0.09
    aged_out: float = 0.25  # for 16- and 17-year-olds
    other_discharge: float = 0.04
    absent_discharge: float = 0.25
    # DNA
    dna_tested: float = 0.47
    dna_results: tuple[float, ...] = (0.81, 0.13, 0.06)  # match, pending, inconclusive
    dna_child_a_number: float = 0.78
    # ORR record noise
    child_a_null: float = 0.05
    child_a_empty: float = 0.074
    child_sex_null: float = 0.02
    child_no_apprehension: float = 0.10
    child_event_id: float = 0.33
    child_app_date: float = 0.89
    child_station: float = 0.81
    # child's apprehension date minus the parent's: (days, probability)
    child_date_shift: tuple[tuple[int, float], ...] = (
        (0, 0.45),
        (-1, 0.32),
        (1, 0.14),
        (-2, 0.07),
        (2, 0.02),
    )
    reported_parent: float = 0.54
    reported_parent_forms: tuple[float, ...] = (0.20, 0.46, 0.30, 0.04)  # given, +surname, 3, 4 tokens
    child_drop_given: float = 0.10
    child_drop_surname: float = 0.13
    single_mother_surnames: float = 0.16
    accents_kept: float = 0.75
    typo_child: float = 0.05  # per name field
    typo_reported: float = 0.07
    # ICE record noise
    a_null: float = 0.02
    a_empty: float = 0.03
    adult_drop_given: float = 0.30
    adult_drop_surname: float = 0.24
    typo_adult: float = 0.06  # per name field
    parent_event_id: float = 0.91
    parent_station: float = 0.85
    claims_made: float = 0.70
    claim_child: float = 0.95
    claim_extra: tuple[float, ...] = (0.70, 0.25, 0.05)  # 0, 1, 2 children not in ORR care
    claim_upper: float = 0.50
    claim_two_given: float = 0.30
    claim_dob: float = 0.50
    typo_claim: float = 0.08
    # dates of birth
    dob_null_child: float = 0.05
    dob_null_adult: float = 0.025
    dob_jan1: float = 0.06
    dob_jan1_parent: float = 0.085  # parents' ICE records use the placeholder more often
    dob_swap: float = 0.02
    dob_year: float = 0.02
    # unrelated adults and removals
    adults_per_child: float = 7.0
    removal_rows_per_child: float = 6.96
    other_female: float = 0.27
    other_no_apprehension: float = 0.30
    other_event_id: float = 0.89
    other_station: float = 0.83
    other_outcomes: tuple[float, ...] = (0.60, 0.16, 0.14, 0.10)
    other_removal_row: float = 0.74
    other_serious: float = 0.09
    other_non_serious: float = 0.15
    other_history_unknown: float = 0.055
    other_medical_hold: float = 0.01
    other_claims: float = 0.06
    removal_a_empty: float = 0.052
    # A clerk's slip: one digit changed, or two neighbours swapped (the contract warns of it; the
    # sample is too small to show it, so the rate is a guess kept low).
    a_miskey: float = 0.02
    removal_dob_empty: float = 0.02
    removal_drop_surname: float = 0.25
    # malformed records per record served
    malformed_orr: float = 0.015
    malformed_ice: float = 0.0013
    malformed_removals: float = 0.0003
    malformed_dna: float = 0.004


@dataclass(slots=True)
class ChildLink:
    """Hidden identity of one child: its ORR records and its parent's records (the answer key)."""

    child_record_ids: list[str]
    ice_record_ids: list[str] = field(default_factory=list)
    removal_record_ids: list[str] = field(default_factory=list)

    @property
    def has_parent(self) -> bool:
        return bool(self.ice_record_ids or self.removal_record_ids)


@dataclass
class World:
    """One world: the feeds' payloads exactly as served, the report date, and the truth.

    ``removals`` holds the CSV rows without the header (:data:`REMOVALS_HEADER`);
    ``malformed`` maps each feed to the indexes of its payload entries that break the contract.
    """

    as_of: date
    seed: int | None
    orr: list[Any]
    ice: list[Any]
    removals: list[list[str]]
    dna: list[Any]
    links: list[ChildLink]
    truth: list[dict[str, Any]] = field(default_factory=list)
    malformed: dict[str, list[int]] = field(default_factory=dict)

    def removals_csv(self) -> str:
        """The removal list as the feed serves it: header row, then the rows, CRLF line ends."""
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(REMOVALS_HEADER)
        writer.writerows(self.removals)
        return buf.getvalue()

    def malformed_ids(self) -> dict[str, set[str]]:
        """Per feed, the record ids carried by malformed entries (those that have one)."""
        out: dict[str, set[str]] = {feed: set() for feed in FEEDS}
        keys = {"orr": "childId", "ice": "subject_id", "dna": "case_id"}
        for feed, indexes in self.malformed.items():
            for i in indexes:
                if feed == "removals":
                    row = self.removals[i]
                    if row and row[0]:
                        out[feed].add(row[0])
                    continue
                payload = getattr(self, feed)[i]
                value = payload.get(keys[feed]) if isinstance(payload, dict) else None
                if isinstance(value, str) and value:
                    out[feed].add(value)
        return out

    def counts(self) -> dict[str, int]:
        """Entries per feed (malformed included) and truth children."""
        return {
            "orr": len(self.orr),
            "ice": len(self.ice),
            "removals": len(self.removals),
            "dna": len(self.dna),
            "children": len(self.truth),
        }

    def to_payloads(self) -> WorldPayloads:
        """The world as the feeds serve it, for the feed simulator."""
        return WorldPayloads(orr=self.orr, ice=self.ice, removals_csv=self.removals_csv(), dna=self.dna)

    def to_snapshot(self) -> FeedSnapshot:
        """The world's well-formed records parsed as the pipeline parses them (malformed ones left
        out): what a run would reconcile, without the HTTP and the store."""
        snap = FeedSnapshot()
        feeds: list[tuple[Iterable[Mapping[str, Any]], Any, list[Any]]] = [
            (self.orr, parse_child, snap.children),
            (self.ice, parse_adult, snap.adults),
            (
                (dict(zip(REMOVAL_COLUMNS, row, strict=False)) for row in self.removals),
                parse_removal,
                snap.removals,
            ),
            (self.dna, parse_dna, snap.dna),
        ]
        for payloads, parse, into in feeds:
            for raw in payloads:
                try:
                    into.append(parse(raw))
                except MalformedRecord:
                    continue
        return snap

    def write(self, directory: str | Path) -> Path:
        """Write the sample's files (plus ``world.json``) into ``directory``; returns it."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        for feed in ("orr", "ice", "dna"):
            with (root / FILES[feed]).open("w", encoding="utf-8") as fh:
                json.dump(getattr(self, feed), fh, ensure_ascii=False)
        (root / FILES["removals"]).write_text(self.removals_csv(), encoding="utf-8", newline="")
        with (root / FILES["truth"]).open("w", encoding="utf-8") as fh:
            for obj in self.truth:
                fh.write(json.dumps(obj, ensure_ascii=False))
                fh.write("\n")
        meta = {"as_of": self.as_of.isoformat(), "seed": self.seed, "counts": self.counts()}
        (root / FILES["meta"]).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return root


# --------------------------------------------------------------------------- loading


def load_world(directory: str | Path, *, as_of: date | None = None) -> World:
    """Read a world directory (the sample's file names); ``world.json`` is optional.

    Without ``world.json`` (the shared sample) the report date is ``as_of`` or 2018-07-12.
    The identity links come from ``expected.jsonl``; malformed entries are found by parsing.
    """
    root = Path(directory)
    meta: dict[str, Any] = {}
    if (root / FILES["meta"]).exists():
        meta = json.loads((root / FILES["meta"]).read_text(encoding="utf-8"))
    report = as_of or (date.fromisoformat(meta["as_of"]) if meta.get("as_of") else DEFAULT_AS_OF)

    def read_json(name: str) -> list[Any]:
        path = root / name
        if not path.exists():
            return []
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, list) else []

    orr, ice, dna = read_json(FILES["orr"]), read_json(FILES["ice"]), read_json(FILES["dna"])
    removals: list[list[str]] = []
    path = root / FILES["removals"]
    if path.exists():
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is not None and tuple(header) != REMOVALS_HEADER:
                raise ValueError("removals.csv does not start with the contract's header")
            removals = [row for row in reader if row]
    truth: list[dict[str, Any]] = []
    links: list[ChildLink] = []
    path = root / FILES["truth"]
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                obj = json.loads(line)
                truth.append(obj)
                parent = obj.get("parent") or {}
                links.append(
                    ChildLink(
                        child_record_ids=list(obj["child_record_ids"]),
                        ice_record_ids=list(parent.get("ice_record_ids") or []),
                        removal_record_ids=list(parent.get("removal_record_ids") or []),
                    )
                )
    world = World(
        as_of=report,
        seed=meta.get("seed"),
        orr=orr,
        ice=ice,
        removals=removals,
        dna=dna,
        links=links,
        truth=truth,
    )
    world.malformed = find_malformed(world)
    return world


def find_malformed(world: World) -> dict[str, list[int]]:
    """Indexes of the payload entries that the contract's parsers reject, per feed."""
    out: dict[str, list[int]] = {feed: [] for feed in FEEDS}
    for feed, parser, payload in (
        ("orr", parse_child, world.orr),
        ("ice", parse_adult, world.ice),
        ("dna", parse_dna, world.dna),
    ):
        for i, raw in enumerate(payload):
            try:
                parser(raw)
            except MalformedRecord:
                out[feed].append(i)
    for i, row in enumerate(world.removals):
        try:
            parse_removal(_row_dict(row))
        except MalformedRecord:
            out["removals"].append(i)
    return out


def _row_dict(row: Sequence[str]) -> dict[Any, Any]:
    """A CSV row as csv.DictReader gives it: extra cells under None, missing ones as None."""
    out: dict[Any, Any] = dict(zip(REMOVALS_HEADER, row, strict=False))
    for col in REMOVALS_HEADER[len(row) :]:
        out[col] = None
    if len(row) > len(REMOVALS_HEADER):
        out[None] = list(row[len(REMOVALS_HEADER) :])
    return out


# --------------------------------------------------------------------------- truth


def compute_truth(world: World) -> list[dict[str, Any]]:
    """Each child's expected result (the sample's ``expected.jsonl`` shape), by CONTRACT.md §4.

    Reads the payloads as served: for a repeated record id the copy with the latest update
    time counts, malformed entries are ignored, and a record id that only a malformed entry
    carries does not appear. Sorted by first child record id, as the sample is.
    """
    bad = {feed: set(idx) for feed, idx in world.malformed.items()}
    children = _latest(world.orr, "childId", "updatedAt", bad.get("orr", set()))
    adults = _latest(world.ice, "subject_id", "updated_at", bad.get("ice", set()))
    results = _latest(world.dna, "case_id", "reported_at", bad.get("dna", set()))
    rows: dict[str, list[str]] = {}
    bad_rows = bad.get("removals", set())
    for i, row in enumerate(world.removals):
        if i not in bad_rows and row:
            rows[row[0]] = row  # a repeated removal id: the later row counts
    dna_by_child: dict[str, list[dict[str, Any]]] = {}
    for result in results.values():
        cid = result.get("child_id")
        if isinstance(cid, str):
            dna_by_child.setdefault(cid, []).append(result)

    out: list[dict[str, Any]] = []
    for link in world.links:
        kids = [children[c] for c in link.child_record_ids if c in children]
        if not kids:
            continue
        ice_ids = sorted(i for i in link.ice_record_ids if i in adults)
        rm_ids = sorted(r for r in link.removal_record_ids if r in rows)
        parent_ice = [adults[i] for i in ice_ids]
        parent_rows = [rows[r] for r in rm_ids]
        has_parent = bool(ice_ids or rm_ids)
        kid_ids = sorted(k["childId"] for k in kids)

        discharge_types = {(k.get("discharge") or {}).get("type") for k in kids} - {None}
        parent_a = {normalise.a_number(a.get("a_number")) for a in parent_ice}
        parent_a |= {normalise.a_number(r[1]) for r in parent_rows}
        parent_a.discard(None)
        pair_results = (
            [
                r
                for cid in kid_ids
                for r in dna_by_child.get(cid, [])
                if r.get("adult_subject_id") in ice_ids
                or (
                    r.get("adult_subject_id") is None
                    and normalise.a_number(r.get("adult_a_number")) in parent_a
                )
            ]
            if has_parent
            else []
        )
        excluded = any(r.get("result") == "exclusion" for r in pair_results)
        serious = any(a.get("criminal_history") == "serious" for a in parent_ice)
        medical = any(a.get("medical_hold") is True for a in parent_ice)

        state = _parent_state(parent_ice, parent_rows) if has_parent else "unknown"
        if "reunified_with_parent" in discharge_types:
            state = "with_child"
        elif excluded:
            state = "unknown"  # the adult is not the parent

        # the truth keeps its own copy of classify.STATUS_RULES on purpose: an independent oracle
        if "reunified_with_parent" in discharge_types:
            status = "reunified"
        elif discharge_types:
            status = "discharged_other"
        elif excluded:
            status = "not_a_parent"
        elif not has_parent:
            status = "no_parent_match"
        elif state == "removed":
            status = "parent_removed"
        elif state == "in_criminal_custody":
            status = "parent_in_criminal_custody"
        elif serious or medical:
            status = "safety_concern"
        elif state == "released":
            status = "parent_released"
        elif state == "in_ice_custody":
            status = "eligible"
        else:
            status = "no_parent_match"

        reasons = set()
        # Flags about the adult only hold while the adult is taken to be the parent.
        if has_parent and not excluded:
            if serious:
                reasons.add("serious_criminal_history")
            if medical:
                reasons.add("communicable_disease")
            if any(r.get("result") == "pending" for r in pair_results):
                reasons.add("dna_pending")
        if any(normalise.country(k.get("countryOfBirth")) in _US for k in kids):
            reasons.add("possible_us_citizen")

        out.append(
            {
                "child_record_ids": kid_ids,
                "cohort": _cohort(kids, world.as_of),
                "status": status,
                "parent": {"ice_record_ids": ice_ids, "removal_record_ids": rm_ids} if has_parent else None,
                "parent_location": {"state": state, "resolved": state in RESOLVED_STATES},
                "reasons": sorted(reasons),
            }
        )
    out.sort(key=lambda o: str(o["child_record_ids"][0]))
    return out


def _latest(payload: Sequence[Any], id_key: str, time_key: str, bad: set[int]) -> dict[str, dict[str, Any]]:
    """The latest copy of each record id among the well-formed entries."""
    out: dict[str, dict[str, Any]] = {}
    stamps: dict[str, datetime] = {}
    for i, raw in enumerate(payload):
        if i in bad or not isinstance(raw, dict):
            continue
        rid = raw.get(id_key)
        if not isinstance(rid, str):
            continue
        try:
            stamp = normalise.iso_datetime(raw.get(time_key))
        except ValueError:
            stamp = datetime.min.replace(tzinfo=UTC)
        if rid not in out or stamp >= stamps[rid]:
            out[rid] = raw
            stamps[rid] = stamp
    return out


def _parent_state(parent_ice: Sequence[Mapping[str, Any]], parent_rows: Sequence[Sequence[str]]) -> str:
    """Location from the latest-dated custody event; a removal wins a tie."""
    best: tuple[date, int] | None = None
    state = "unknown"
    for adult in parent_ice:
        custody = adult.get("custody") or {}
        day = normalise.iso_date(custody.get("as_of"))
        status = custody.get("status")
        if day is None or status not in _ICE_STATE:
            continue
        if best is None or (day, 0) > best:
            best, state = (day, 0), _ICE_STATE[status]
    for row in parent_rows:
        day = normalise.us_date(row[6])
        if day is not None and (best is None or (day, 1) > best):
            best, state = (day, 1), "removed"
    return state


def _cohort(kids: Sequence[Mapping[str, Any]], as_of: date) -> str | list[str]:
    cohorts = set()
    for kid in kids:
        dob = normalise.iso_date(kid.get("dateOfBirth"))
        if dob is not None:
            cohorts.add("under_5" if normalise.age_years(dob, as_of) < 5 else "5_and_over")
    if not cohorts:
        return "unknown"
    if len(cohorts) == 1:
        return cohorts.pop()
    return sorted(cohorts)  # the records disagree: either cohort is right


# --------------------------------------------------------------------------- generation


_NEW_DNA = ("match", "pending", "inconclusive", "exclusion")
# A child's link with its records, waiting for ids to be dealt: (link, ORR, ICE, removal rows).
_Pending = tuple[ChildLink, list[dict[str, Any]], list[dict[str, Any]], list[list[str]]]


class _Picker:
    """Fast weighted choice over a fixed vocabulary (bisect over cumulative weights)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, pairs: Iterable[tuple[Any, float]]) -> None:
        items, weights = zip(*pairs, strict=True)
        self._items = list(items)
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self._items[bisect_right(self._cum, rng.random() * self._total)]


_FEMALE = _Picker(names.FEMALE_GIVEN)
_MALE = _Picker(names.MALE_GIVEN)
_SURNAME = _Picker(names.SURNAMES)
_PARENT_COUNTRY = _Picker(((c[0], c[1]), c[2]) for c in names.COUNTRIES)
_OTHER_COUNTRY = _Picker(((c[0], c[1]), c[3]) for c in names.COUNTRIES)
_CHILD_AGE = _Picker(enumerate((3, 2, 3, 3, 7, 20, 20, 15, 10, 14, 13, 13, 10, 12, 12, 8, 9, 8)))
_ADMIT_DELAY = _Picker(enumerate((12, 32, 37, 34, 32, 13)))
_LETTERS = "ABCDEFGHIJLMNOPRSTUVYZ"


def _us(day: date) -> str:
    """MM/DD/YYYY, the removal list's date form (an f-string is much faster than strftime)."""
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


@dataclass(slots=True)
class _Person:
    """True attributes of one person, before any feed writes them down."""

    sex: str
    given: list[str]
    surnames: list[str]
    dob: date
    a_number: int
    country: tuple[str, str]  # (ORR title case, ICE upper case)


@dataclass(slots=True)
class _Family:
    parent: _Person
    children: list[_Person]
    event_date: date
    station: str
    event_id: str
    absent: bool
    fraud: bool


class _Generator:
    """One world's generation; all randomness from ``rng`` so a seed fixes the world."""

    def __init__(
        self,
        rng: random.Random,
        as_of: date,
        rates: Rates,
        period_days: int,
        n_stations: int,
        n_shelters: int,
    ) -> None:
        self.rng = rng
        self.as_of = as_of
        self.r = rates
        self.window_end = as_of - timedelta(days=22)
        self.window_start = self.window_end - timedelta(days=period_days)
        self.period = period_days
        self.stations = names.STATIONS[: max(1, min(n_stations, len(names.STATIONS)))]
        self.shelters = [
            (
                f"{names.SHELTERS[i % len(names.SHELTERS)][0]}-{i:04d}",
                f"{names.SHELTERS[i % len(names.SHELTERS)][1]} Shelter {i}",
            )
            for i in range(n_shelters)
        ]
        n_fac = 10 if period_days <= 90 else len(names.ICE_FACILITIES)
        n_crim = 3 if period_days <= 90 else len(names.CRIMINAL_FACILITIES)
        self.facilities = names.ICE_FACILITIES[:n_fac]
        self.criminal_facilities = names.CRIMINAL_FACILITIES[:n_crim]
        self.removal_start = self.window_start - timedelta(days=108)
        self.orr: list[dict[str, Any]] = []
        self.ice: list[dict[str, Any]] = []
        self.rows: list[list[str]] = []
        self.dna: list[dict[str, Any]] = []
        self._a_numbers: list[int] = []
        self._events: list[int] = []
        # Each child's link waits for ids until all records exist and ids are dealt.
        self.pending_links: list[_Pending] = []

    # ---- small helpers

    def a_number(self) -> int:
        if not self._a_numbers:
            # Unique A-numbers in the sample's range, drawn in blocks for speed.
            self._a_numbers = self.rng.sample(range(200_000_000, 217_000_000), 50_000)
        return self._a_numbers.pop()

    def event_id(self) -> str:
        if not self._events:
            self._events = self.rng.sample(range(1, 10_000_000), 50_000)
        return f"CBP-2018{self._events.pop():07d}"

    def app_date(self) -> date:
        # Half uniform, half rising towards the window's end: the sample's April–June shape.
        rng = self.rng
        if rng.random() < 0.5:
            offset = rng.random() * self.period
        else:
            offset = rng.triangular(0, self.period, self.period * 0.75)
        return self.window_start + timedelta(days=int(offset))

    def person(
        self,
        sex: str,
        age: int,
        country: tuple[str, str],
        surnames: list[str] | None = None,
        two_given: float | None = None,
    ) -> _Person:
        rng = self.rng
        pick = _FEMALE if sex == "F" else _MALE
        given = [pick(rng)]
        if rng.random() < (self.r.two_given if two_given is None else two_given):
            second = pick(rng)
            if second != given[0]:
                given.append(second)
        if surnames is None:
            surnames = [_SURNAME(rng), _SURNAME(rng)]
        birth = self.as_of - timedelta(days=365 * age + int(rng.random() * 365))
        return _Person(sex, given, surnames, birth, self.a_number(), country)

    def spell_a(self, number: int, null: float, empty: float) -> str | None:
        rng = self.rng
        x = rng.random()
        if x < null:
            return None
        if x < null + empty:
            return ""
        digits = self.miskey(f"{number:09d}")
        y = rng.random()
        if y < 0.38:
            return f"A-{digits[:3]}-{digits[3:6]}-{digits[6:]}"
        if y < 0.65:
            return digits
        if y < 0.86:
            return "A" + digits
        return f"A {digits[:3]} {digits[3:6]} {digits[6:]}"

    def miskey(self, digits: str) -> str:
        """The nine digits, now and then mis-keyed: one digit changed or two neighbours swapped."""
        rng = self.rng
        if rng.random() >= self.r.a_miskey:
            return digits
        i = rng.randrange(1, 8)
        if rng.random() < 0.5 and digits[i] != digits[i + 1]:
            return digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        return digits[:i] + str((int(digits[i]) + rng.randrange(1, 10)) % 10) + digits[i + 1 :]

    def noisy_dob(self, dob: date, null: float, jan1: float | None = None) -> date | None:
        """Recorded date of birth: missing, placeholder 1 January, day/month swapped, year off."""
        rng = self.rng
        x = rng.random()
        r = self.r
        if x < null:
            return None
        x -= null
        jan1 = r.dob_jan1 if jan1 is None else jan1
        if x < jan1:
            return date(dob.year, 1, 1)
        x -= jan1
        if x < r.dob_swap and dob.day <= 12 and dob.day != dob.month:
            return date(dob.year, dob.day, dob.month)
        x -= r.dob_swap
        if x < r.dob_year:
            year = dob.year + rng.choice((-1, 1))
            return date(year, dob.month, 28 if (dob.month, dob.day) == (2, 29) else dob.day)
        return dob

    def typo(self, text: str) -> str:
        """One keying error: swapped, dropped or replaced character (spaces included)."""
        rng = self.rng
        if len(text) < 4:
            return text
        i = rng.randrange(1, len(text) - 1)
        kind = rng.random()
        if kind < 0.4:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        if kind < 0.7:
            return text[:i] + text[i + 1 :]
        letter = rng.choice(_LETTERS)
        letter = letter if text[i].isupper() else letter.lower()
        return text[:i] + letter + text[i + 1 :]

    def mixed(self, tokens: Iterable[str], accents: bool) -> str:
        out = []
        for tok in tokens:
            accented = names.ACCENTED.get(tok) if accents else None
            out.append(accented or tok.capitalize())
        return " ".join(out)

    def stamp(self, day: date) -> str:
        minute = int(self.rng.random() * 1440)  # one draw for hour and minute
        return f"{day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}:00Z"

    def pick(self, items: Sequence[Any]) -> Any:
        """``rng.choice`` without its overhead (the hot path draws millions)."""
        return items[int(self.rng.random() * len(items))]

    def clamp(self, day: date) -> date:
        return min(day, self.as_of)

    # ---- families

    def family(self) -> _Family:
        rng, r = self.rng, self.r
        country = _PARENT_COUNTRY(rng)
        sex = "F" if rng.random() < r.parent_female else "M"
        x, size = rng.random(), 1
        for k, p in enumerate(r.family_sizes):
            if x < p:
                size = k + 1
                break
            x -= p
        ages = sorted((_CHILD_AGE(rng) for _ in range(size)), reverse=True)
        gap = int(rng.triangular(14, 46, 21))
        parent = self.person(sex, ages[0] + gap, country, two_given=0.45)
        other_surname = _SURNAME(rng)  # the other parent, who is in no feed
        single = sex == "F" and rng.random() < r.single_mother_surnames
        children = []
        for age in ages:
            if single:
                surnames = list(parent.surnames)
            elif sex == "M":
                surnames = [parent.surnames[0], other_surname]
            else:
                surnames = [other_surname, parent.surnames[0]]
            child_country = (names.US_BORN_COUNTRY, "UNITED STATES") if rng.random() < r.us_born else country
            child_sex = "F" if rng.random() < 0.54 else "M"
            children.append(self.person(child_sex, age, child_country, surnames))
        return _Family(
            parent=parent,
            children=children,
            event_date=self.app_date(),
            station=rng.choice(self.stations),
            event_id=self.event_id(),
            absent=rng.random() < r.parent_absent,
            fraud=rng.random() < r.fraud,
        )

    def build_family(self, fam: _Family, links: list[ChildLink]) -> None:
        rng, r = self.rng, self.r
        no_evidence = {id(c) for c in fam.children if rng.random() < r.no_evidence}
        parent_ice: list[dict[str, Any]] = []
        parent_rows: list[list[str]] = []
        discharge_ok = True
        if not fam.absent:
            parent_ice, parent_rows, discharge_ok = self.parent_records(fam, no_evidence)
        reunified = discharge_ok and not fam.fraud and not fam.absent and rng.random() < r.reunified
        for child in fam.children:
            records = self.child_records(fam, child, id(child) in no_evidence)
            self.discharge(records, child, fam, reunified, discharge_ok)
            link = ChildLink(child_record_ids=[])
            links.append(link)
            self.pending_links.append((link, records, parent_ice, parent_rows))
            if fam.absent or id(child) in no_evidence or not parent_ice:
                continue
            if fam.fraud or rng.random() < r.dna_tested:
                self.dna_result(fam, child, records, parent_ice[-1])

    def parent_records(
        self, fam: _Family, no_evidence: set[int]
    ) -> tuple[list[dict[str, Any]], list[list[str]], bool]:
        """The parent's ICE record(s) and removal rows; says whether a discharge fits its state."""
        rng, r = self.rng, self.r
        p = fam.parent
        start = fam.event_date
        room = max(0, (self.as_of - start).days)
        first = start + timedelta(days=min(room, int(rng.triangular(0, 80, 5))))
        x = rng.random()
        outcome = 3
        for k, prob in enumerate(r.outcomes):
            if x < prob:
                outcome = k
                break
            x -= prob
        serious = rng.random() < r.serious
        x = rng.random()
        history: str | None = "none"
        if serious:
            history = "serious"
        elif x < r.history_unknown:
            history = None
        elif x < r.history_unknown + r.non_serious:
            history = "non_serious"
        medical = rng.random() < r.medical_hold
        claims = self.parent_claims(fam, no_evidence)
        status = ("detained", "released", "removed", "criminal_custody")[outcome]
        rows_dates: list[date] = []
        if outcome == 2:
            kind = rng.random()
            a, b = r.removed_kinds[0], r.removed_kinds[0] + r.removed_kinds[1]
            if kind < a:  # ICE says removed, the list follows a few days later
                rows_dates.append(self.clamp(first + timedelta(days=rng.randint(1, 40))))
            elif kind < b:  # ICE still says detained; only the removal list knows
                status = "detained"
                later = 0 if rng.random() < r.removal_tie else rng.randint(1, 40)
                rows_dates.append(self.clamp(first + timedelta(days=later)))
        records = []
        stale = rng.random() < r.duplicate_ice and (first - start).days >= 2
        if stale:
            old_day = start + timedelta(days=rng.randrange((first - start).days))
            old_claims = claims if rng.random() < 0.5 else []
            records.append(
                self.ice_record(p, fam, "detained", old_day, history, medical, old_claims, parent=True)
            )
        records.append(self.ice_record(p, fam, status, first, history, medical, claims, parent=True))
        rows = [self.removal_row(p, day, parent=True) for day in rows_dates]
        discharge_ok = outcome == 0 and not serious and not medical and not rows_dates
        return records, rows, discharge_ok

    def parent_claims(self, fam: _Family, no_evidence: set[int]) -> list[dict[str, Any]]:
        rng, r = self.rng, self.r
        if rng.random() >= r.claims_made:
            return []
        claimed = [c for c in fam.children if id(c) not in no_evidence and rng.random() < r.claim_child]
        x, extra = rng.random(), 0
        for k, p in enumerate(r.claim_extra):
            if x < p:
                extra = k
                break
            x -= p
        for _ in range(extra):
            sib_sex = "F" if rng.random() < 0.5 else "M"
            sibling = self.person(sib_sex, _CHILD_AGE(rng), fam.parent.country, fam.children[0].surnames)
            claimed.append(sibling)
        rng.shuffle(claimed)
        return [self.claim(c) for c in claimed]

    def claim(self, child: _Person) -> dict[str, Any]:
        rng, r = self.rng, self.r
        given = child.given if rng.random() < r.claim_two_given else child.given[:1]
        tokens = [*given, child.surnames[0]]
        if rng.random() < r.claim_upper:
            name = " ".join(tokens)
        else:
            name = self.mixed(tokens, accents=rng.random() < 0.8)
        if rng.random() < r.typo_claim:
            name = self.typo(name)
        dob = child.dob.isoformat() if rng.random() < r.claim_dob else None
        return {"name": name, "dob": dob}

    def ice_record(
        self,
        p: _Person,
        fam: _Family | None,
        status: str,
        day: date,
        history: str | None,
        medical: bool,
        claims: list[dict[str, Any]],
        *,
        parent: bool,
        apprehension: tuple[str | None, date | None, str | None] | None = None,
    ) -> dict[str, Any]:
        rng, r = self.rng, self.r
        given = p.given if len(p.given) == 1 or rng.random() >= r.adult_drop_given else p.given[:1]
        surnames = p.surnames if rng.random() >= r.adult_drop_surname else p.surnames[:1]
        first, last = " ".join(given), " ".join(surnames)
        if rng.random() < r.typo_adult:
            first = self.typo(first)
        if rng.random() < r.typo_adult:
            last = self.typo(last)
        if status == "detained":
            code, fac_name = self.pick(self.facilities)
        elif status == "criminal_custody":
            code, fac_name = self.pick(self.criminal_facilities)
        else:
            code = fac_name = None
        if fam is not None:
            eid = fam.event_id if rng.random() < r.parent_event_id else None
            station = fam.station if rng.random() < r.parent_station else None
            app: tuple[str | None, date | None, str | None] = (eid, fam.event_date, station)
        else:
            app = apprehension or (None, None, None)
        dob = self.noisy_dob(p.dob, r.dob_null_adult, r.dob_jan1_parent if parent else None)
        record = {
            "subject_id": None,
            "a_number": self.spell_a(p.a_number, r.a_null, r.a_empty),
            "first_name": first,
            "last_name": last,
            "birth_date": dob.isoformat() if dob else None,
            "gender": p.sex,
            "citizenship": p.country[1],
            "custody": {
                "status": status,
                "facility_code": code,
                "facility_name": fac_name,
                "as_of": day.isoformat(),
            },
            "apprehension_event_id": app[0],
            "apprehension_date": app[1].isoformat() if app[1] else None,
            "apprehension_station": app[2],
            "criminal_history": history,
            "medical_hold": medical,
            "claimed_children": claims,
            "updated_at": self.stamp(day),
        }
        self.ice.append(record)
        return record

    def removal_row(self, p: _Person, day: date, *, parent: bool) -> list[str]:
        rng, r = self.rng, self.r
        given = p.given if len(p.given) == 1 or rng.random() >= r.adult_drop_given else p.given[:1]
        surnames = p.surnames if rng.random() >= r.removal_drop_surname else p.surnames[:1]
        first, last = " ".join(given), " ".join(surnames)
        if rng.random() < r.typo_adult:
            first = self.typo(first)
        a_empty = r.removal_a_empty / 2 if parent else r.removal_a_empty
        a = self.spell_a(p.a_number, 0.0, a_empty) or ""
        dob = self.noisy_dob(p.dob, 0.0 if parent else r.removal_dob_empty)
        row = [
            "",
            a,
            last,
            first,
            _us(dob) if dob else "",
            p.country[1],
            _us(day),
            self.pick(names.PORTS),
        ]
        self.rows.append(row)
        return row

    def child_records(self, fam: _Family, child: _Person, no_evidence: bool) -> list[dict[str, Any]]:
        rng, r = self.rng, self.r
        admitted = fam.event_date + timedelta(days=_ADMIT_DELAY(rng))
        records = [self.child_record(fam, child, admitted, no_evidence)]
        if rng.random() < r.re_referral:
            again = self.clamp(fam.event_date + timedelta(days=rng.randint(14, 35)))
            records.append(self.child_record(fam, child, again, no_evidence))
        return records

    def child_record(self, fam: _Family, child: _Person, admitted: date, no_evidence: bool) -> dict[str, Any]:
        rng, r = self.rng, self.r
        drop_given = len(child.given) > 1 and rng.random() < r.child_drop_given
        given = child.given[:1] if drop_given else child.given
        surnames = child.surnames if rng.random() >= r.child_drop_surname else child.surnames[:1]
        accents = rng.random() < r.accents_kept
        first, last = self.mixed(given, accents), self.mixed(surnames, accents)
        if rng.random() < r.typo_child:
            first = self.typo(first)
        if rng.random() < r.typo_child:
            last = self.typo(last)
        apprehension: dict[str, Any] | None = None
        if not no_evidence and rng.random() >= r.child_no_apprehension:
            shift = 0
            x = rng.random()
            for delta, p in r.child_date_shift:
                if x < p:
                    shift = delta
                    break
                x -= p
            day = fam.event_date + timedelta(days=shift)
            apprehension = {
                "eventId": fam.event_id if rng.random() < r.child_event_id else None,
                "date": day.isoformat() if rng.random() < r.child_app_date else None,
                "station": fam.station if rng.random() < r.child_station else None,
            }
        reported = None
        if not no_evidence and rng.random() < r.reported_parent:
            reported = {
                "name": self.reported_name(fam.parent),
                "relation": "mother" if fam.parent.sex == "F" else "father",
            }
        dob = self.noisy_dob(child.dob, r.dob_null_child)
        facility = rng.choice(self.shelters)
        admitted = self.clamp(admitted)
        updated = self.clamp(admitted + timedelta(days=rng.randint(0, 30)))
        record = {
            "childId": None,
            "aNumber": self.spell_a(child.a_number, r.child_a_null, r.child_a_empty),
            "firstName": first,
            "lastName": last,
            "dateOfBirth": dob.isoformat() if dob else None,
            "sex": None if rng.random() < r.child_sex_null else child.sex,
            "countryOfBirth": child.country[0],
            "facilityId": facility[0],
            "facilityName": facility[1],
            "admittedAt": admitted.isoformat(),
            "apprehension": apprehension,
            "reportedParent": reported,
            "discharge": None,
            "updatedAt": self.stamp(updated),
        }
        self.orr.append(record)
        return record

    def reported_name(self, parent: _Person) -> str:
        rng, r = self.rng, self.r
        x = rng.random()
        forms = r.reported_parent_forms
        g, s = parent.given, parent.surnames
        if x < forms[0]:
            tokens = g[:1]
        elif x < forms[0] + forms[1]:
            tokens = [g[0], s[0]]
        elif x < forms[0] + forms[1] + forms[2]:
            tokens = [*g[:2], s[0]] if len(g) > 1 else [g[0], *s]
        else:
            tokens = [*g, *s]
        name = self.mixed(tokens, accents=rng.random() < 0.6)
        if rng.random() < r.typo_reported:
            name = self.typo(name)
        return name

    def discharge(
        self, records: list[dict[str, Any]], child: _Person, fam: _Family, reunified: bool, discharge_ok: bool
    ) -> None:
        rng, r = self.rng, self.r
        kind: str | None = None
        if reunified:
            kind = "reunified_with_parent"
        elif fam.absent:
            if rng.random() < r.absent_discharge:
                kind = rng.choice(("released_to_sponsor", "other", "reunified_with_parent"))
                if kind == "reunified_with_parent":
                    kind = "released_to_sponsor"  # no parent in the feeds to be reunified with
        elif discharge_ok:
            x = rng.random()
            age = normalise.age_years(child.dob, self.as_of)
            if age >= 16 and x < r.aged_out:
                kind = "aged_out"
            elif x < r.released_to_sponsor:
                kind = "released_to_sponsor"
            elif x < r.released_to_sponsor + r.other_discharge:
                kind = "other"
        if kind is None:
            return
        record = rng.choice(records)
        admitted = date.fromisoformat(record["admittedAt"])
        if admitted >= self.as_of:
            return
        day = self.clamp(admitted + timedelta(days=rng.randint(1, 66)))
        record["discharge"] = {"date": day.isoformat(), "type": kind}

    def dna_result(
        self, fam: _Family, child: _Person, records: list[dict[str, Any]], adult: dict[str, Any]
    ) -> None:
        rng, r = self.rng, self.r
        if fam.fraud:
            result = "exclusion"
        else:
            x = rng.random()
            result = "inconclusive"
            if x < r.dna_results[0]:
                result = "match"
            elif x < r.dna_results[0] + r.dna_results[1]:
                result = "pending"
        child_a = f"{child.a_number:09d}" if rng.random() < r.dna_child_a_number else None
        day = self.as_of - timedelta(days=rng.randint(3, 11))
        self.dna.append(
            {
                "case_id": None,
                "adult_a_number": f"{fam.parent.a_number:09d}",
                "child_a_number": child_a,
                "adult_subject_id": adult,  # replaced by the id once ids are dealt
                "child_id": rng.choice(records),
                "result": result,
                "reported_at": f"{day.isoformat()}T12:00:00Z",
            }
        )

    # ---- unrelated adults

    def other_adult(self) -> None:
        rng, r = self.rng, self.r
        sex = "F" if rng.random() < r.other_female else "M"
        p = self.person(sex, 18 + int(rng.random() * 42), _OTHER_COUNTRY(rng), two_given=0.35)
        if rng.random() < r.other_no_apprehension:
            app: tuple[str | None, date | None, str | None] = (None, None, None)
            day = self.as_of - timedelta(days=int(rng.random() * (self.period + 22)))
        else:
            when = self.app_date()
            app = (
                self.event_id() if rng.random() < r.other_event_id else None,
                when,
                self.pick(self.stations) if rng.random() < r.other_station else None,
            )
            room = max(0, (self.as_of - when).days)
            day = when + timedelta(days=min(room, int(rng.triangular(0, 80, 5))))
        x, outcome = rng.random(), 3
        for k, prob in enumerate(r.other_outcomes):
            if x < prob:
                outcome = k
                break
            x -= prob
        status = ("detained", "released", "removed", "criminal_custody")[outcome]
        x = rng.random()
        history: str | None = "none"
        if x < r.other_serious:
            history = "serious"
        elif x < r.other_serious + r.other_history_unknown:
            history = None
        elif x < r.other_serious + r.other_history_unknown + r.other_non_serious:
            history = "non_serious"
        claims = []
        if rng.random() < r.other_claims:
            kid = self.person(
                "F" if rng.random() < 0.5 else "M", _CHILD_AGE(rng), p.country, [p.surnames[0], _SURNAME(rng)]
            )
            claims.append(self.claim(kid))
        self.ice_record(
            p,
            None,
            status,
            day,
            history,
            rng.random() < r.other_medical_hold,
            claims,
            parent=False,
            apprehension=app,
        )
        if status == "removed" and rng.random() < r.other_removal_row:
            self.removal_row(p, self.clamp(day + timedelta(days=rng.randint(0, 30))), parent=False)

    def removal_only(self) -> None:
        rng, r = self.rng, self.r
        sex = "F" if rng.random() < r.other_female else "M"
        p = self.person(sex, 18 + int(rng.random() * 42), _OTHER_COUNTRY(rng), two_given=0.3)
        span = (self.as_of - self.removal_start).days
        day = self.removal_start + timedelta(days=int(rng.random() * (span + 1)))
        self.removal_row(p, day, parent=False)


_ORR_JUNK: tuple[Any, ...] = (
    {"childId": None, "firstName": 12345},
    "not an object",
    {"aNumber": "A-000-000-000", "firstName": "NO", "lastName": "ID"},
    {"childId": "@", "firstName": "X", "lastName": "Y", "dateOfBirth": 20120519},
    {"childId": "@", "firstName": "X", "lastName": "Y", "admittedAt": "2018-13-45"},
    {"childId": "@", "firstName": "X", "discharge": {"date": "2018-06-01", "type": "escaped"}},
)
_ICE_JUNK: tuple[Any, ...] = (
    {"subject_id": None, "first_name": None},
    ["garbage"],
    {"subject_id": "@", "first_name": "X", "last_name": "Y", "medical_hold": "yes"},
    {"subject_id": "@", "first_name": "X", "last_name": "Y", "birth_date": "31/12/1980"},
    {"subject_id": "@", "first_name": "X", "custody": {"status": "deported", "as_of": "2018-06-01"}},
)
_DNA_JUNK: tuple[Any, ...] = (
    {"case_id": None, "result": "match"},
    {"case_id": "@", "result": "maybe", "reported_at": "2018-07-01T12:00:00Z"},
    42,
)


def _period_for(n_children: int) -> int:
    """Days of apprehensions: the sample's two months, longer for big worlds."""
    if n_children <= _SMALL_WORLD:
        return 62
    return min(730, int(62 * (n_children / _SMALL_WORLD) ** 0.5))


def _stations_for(n_children: int) -> int:
    if n_children <= _SMALL_WORLD:
        return 15
    return min(len(names.STATIONS), int(15 * (n_children / _SMALL_WORLD) ** 0.5))


def generate_world(
    n_children: int,
    seed: int,
    *,
    as_of: date = DEFAULT_AS_OF,
    rates: Rates | None = None,
    period_days: int | None = None,
    n_stations: int | None = None,
) -> World:
    """A synthetic world of about ``n_children`` children shaped like the sample; same seed, same world.

    Volumes follow the sample: per child about 7.7 ICE records and 7 removal rows, so 2,300
    children give ~17,800 ICE records and 100,000 children ~1.6 million feed records. Worlds
    above 2,500 children span a longer period (``period_days``) over more stations.
    """
    if n_children < 1:
        raise ValueError("n_children must be at least 1")
    # Millions of small dicts and no cycles: the cyclic collector would only rescan them.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(n_children, seed, as_of, rates or Rates(), period_days, n_stations)
    finally:
        if was_enabled:
            gc.enable()


def _generate(
    n_children: int, seed: int, as_of: date, rates: Rates, period_days: int | None, n_stations: int | None
) -> World:
    rng = random.Random(seed)
    gen = _Generator(
        rng,
        as_of,
        rates,
        period_days=period_days or _period_for(n_children),
        n_stations=n_stations or _stations_for(n_children),
        n_shelters=max(12, min(400, n_children // 170)),
    )
    links: list[ChildLink] = []
    made = 0
    while made < n_children:
        fam = gen.family()
        if len(fam.children) > n_children - made:
            fam.children = fam.children[: n_children - made]
        gen.build_family(fam, links)
        made += len(fam.children)
    for _ in range(round(rates.adults_per_child * n_children)):
        gen.other_adult()
    for _ in range(max(0, round(rates.removal_rows_per_child * n_children) - len(gen.rows))):
        gen.removal_only()

    # Deal ids independently of payload order, as the sample does: neither leaks a family.
    for payload, key, fmt in (
        (gen.orr, "childId", "ORR-{:07d}"),
        (gen.ice, "subject_id", "ICE-{:08d}"),
        (gen.dna, "case_id", "DNA-{:07d}"),
    ):
        numbers = list(range(1, len(payload) + 1))
        rng.shuffle(numbers)
        for rec, num in zip(payload, numbers, strict=True):
            rec[key] = fmt.format(num)
        rng.shuffle(payload)
    numbers = list(range(1, len(gen.rows) + 1))
    rng.shuffle(numbers)
    for row, num in zip(gen.rows, numbers, strict=True):
        row[0] = f"RM-{num:08d}"
    rng.shuffle(gen.rows)
    for result in gen.dna:
        result["adult_subject_id"] = result["adult_subject_id"]["subject_id"]
        result["child_id"] = result["child_id"]["childId"]
    for link, records, parent_ice, parent_rows in gen.pending_links:
        link.child_record_ids = [rec["childId"] for rec in records]
        link.ice_record_ids = [rec["subject_id"] for rec in parent_ice]
        link.removal_record_ids = [row[0] for row in parent_rows]

    world = World(
        as_of=as_of,
        seed=seed,
        orr=list(gen.orr),
        ice=list(gen.ice),
        removals=gen.rows,
        dna=list(gen.dna),
        links=links,
    )
    _add_malformed(world, rng, rates)
    world.truth = compute_truth(world)
    return world


def _add_malformed(world: World, rng: random.Random, rates: Rates) -> None:
    """Insert a few contract-breaking entries per feed at random places and note their indexes."""
    plans: list[tuple[str, int, tuple[Any, ...], str, str]] = [
        ("orr", round(rates.malformed_orr * len(world.orr)), _ORR_JUNK, "childId", "ORR-9{:06d}"),
        ("ice", round(rates.malformed_ice * len(world.ice)), _ICE_JUNK, "subject_id", "ICE-9{:07d}"),
        ("dna", round(rates.malformed_dna * len(world.dna)), _DNA_JUNK, "case_id", "DNA-9{:06d}"),
    ]
    inserted: dict[str, set[int]] = {feed: set() for feed in FEEDS}  # id() of each junk entry
    for feed, count, junk, key, fmt in plans:
        payload = getattr(world, feed)
        for k in range(count):
            item = json.loads(json.dumps(junk[k % len(junk)]))
            if isinstance(item, dict) and item.get(key) == "@":
                item[key] = fmt.format(k + 1)  # a fresh id: only the malformed entry carries it
            payload.insert(rng.randrange(len(payload) + 1), item)
            inserted[feed].add(id(item))
    rows = world.removals
    for k in range(round(rates.malformed_removals * len(rows))):
        rid = f"RM-9{k + 1:07d}"
        bad = (
            [rid, "A-200-000-001", "GARCIA"]
            if k % 2 == 0
            else [rid, "", "LOPEZ", "JOSE", "", "GUATEMALA", "2018-13-01", "EL PASO TX"]
        )
        rows.insert(rng.randrange(len(rows) + 1), bad)
        inserted["removals"].add(id(bad))
    # Indexes by identity: parsing a million records again just to find a few is too slow.
    world.malformed = {
        feed: [i for i, item in enumerate(getattr(world, feed)) if id(item) in inserted[feed]]
        for feed in FEEDS
    }


# --------------------------------------------------------------------------- mutation


def mutate_world(world: World, fraction: float, seed: int, *, days: int = 1) -> World:
    """A later state of ``world``: about ``fraction`` of records change, the truth is recomputed.

    The report date moves ``days`` forward and every change is stamped after the old report
    date, so an incremental pull (``updated_since`` / ``since``) sees exactly the changes:
    children discharged or moved, adults released, removed, jailed or flagged, new removal
    rows (some late entries dated before the old report date), DNA results reported or
    updated. Changed records keep their place and id; the input world is not modified.
    """
    rng = random.Random(seed)
    old = world.as_of
    new_as_of = old + timedelta(days=days)
    out = World(
        as_of=new_as_of,
        seed=world.seed,
        orr=list(world.orr),
        ice=list(world.ice),
        removals=[list(row) for row in world.removals],
        dna=list(world.dna),
        links=[
            ChildLink(list(lk.child_record_ids), list(lk.ice_record_ids), list(lk.removal_record_ids))
            for lk in world.links
        ],
        malformed={k: list(v) for k, v in world.malformed.items()},
    )

    def when() -> date:
        return old + timedelta(days=rng.randint(1, days))

    def stamp(day: date) -> str:
        return f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"

    bad = {feed: set(v) for feed, v in out.malformed.items()}
    orr_idx = [i for i, rec in enumerate(out.orr) if i not in bad["orr"] and isinstance(rec, dict)]
    ice_idx = [i for i, rec in enumerate(out.ice) if i not in bad["ice"] and isinstance(rec, dict)]
    parent_of: dict[str, ChildLink] = {}
    for link in out.links:
        for aid in link.ice_record_ids:
            parent_of[aid] = link

    status_of = {cid: obj["status"] for obj in world.truth for cid in obj["child_record_ids"]}
    for i in rng.sample(orr_idx, min(len(orr_idx), round(fraction * len(orr_idx)))):
        rec = json.loads(json.dumps(out.orr[i]))
        day = when()
        if rec.get("discharge") is None and rng.random() < 0.6:
            # Only a child whose parent could take them is reunified; others go to a sponsor.
            kind = "released_to_sponsor"
            if status_of.get(rec.get("childId")) == "eligible" and rng.random() < 0.7:
                kind = "reunified_with_parent"
            elif rng.random() < 0.2:
                kind = "other"
            rec["discharge"] = {"date": day.isoformat(), "type": kind}
        elif rec.get("discharge") is None:
            rec["facilityId"], rec["facilityName"] = _transfer(rng, out.orr, rec)
        rec["updatedAt"] = stamp(day)
        out.orr[i] = rec

    new_rows: list[tuple[list[str], str | None]] = []  # (row, the parent's ICE id or None)
    for i in rng.sample(ice_idx, min(len(ice_idx), round(fraction * len(ice_idx)))):
        rec = json.loads(json.dumps(out.ice[i]))
        day = when()
        custody = rec.get("custody") or {}
        x = rng.random()
        if custody.get("status") == "detained" and x < 0.75:
            status = rng.choices(("released", "removed", "criminal_custody"), (0.45, 0.4, 0.15))[0]
            code, name = (None, None) if status != "criminal_custody" else names.CRIMINAL_FACILITIES[0]
            rec["custody"] = {
                "status": status,
                "facility_code": code,
                "facility_name": name,
                "as_of": day.isoformat(),
            }
            if status == "removed" and rng.random() < 0.6:
                owner = rec["subject_id"] if rec["subject_id"] in parent_of else None
                new_rows.append((_row_for(rng, rec, day), owner))
        elif x < 0.85:
            rec["medical_hold"] = not bool(rec.get("medical_hold"))
            rec["custody"] = {**custody, "as_of": day.isoformat()}
        else:
            if rec.get("criminal_history") in (None, "none"):
                rec["criminal_history"] = rng.choice(("none", "non_serious", "serious"))
            rec["custody"] = {**custody, "as_of": day.isoformat()}
        rec["updated_at"] = stamp(day)
        out.ice[i] = rec

    # Late entries: removals of detained adults that reach the list with an earlier date.
    detained = [i for i in ice_idx if (out.ice[i].get("custody") or {}).get("status") == "detained"]
    for i in rng.sample(detained, min(len(detained), max(1, round(fraction * len(detained) * 0.2)))):
        rec = out.ice[i]
        day = old - timedelta(days=rng.randint(0, 10))
        owner = rec["subject_id"] if rec["subject_id"] in parent_of else None
        new_rows.append((_row_for(rng, rec, day), owner))
    next_id = 1 + max((int(r[0][3:]) for r in out.removals if r and r[0][3:].isdigit()), default=0)
    for row, owner in new_rows:
        row[0] = f"RM-{next_id:08d}"
        next_id += 1
        out.removals.append(row)
        if owner is not None:
            parent_of[owner].removal_record_ids.append(row[0])

    # DNA: pending cases resolve; some untested children get a first result.
    dna_idx = [i for i, rec in enumerate(out.dna) if i not in bad["dna"] and isinstance(rec, dict)]
    for i in dna_idx:
        rec = out.dna[i]
        if rec.get("result") == "pending" and rng.random() < min(1.0, fraction * 5):
            rec = dict(rec, result=rng.choices(("match", "inconclusive", "exclusion"), (0.85, 0.1, 0.05))[0])
            rec["reported_at"] = f"{when().isoformat()}T12:00:00Z"
            out.dna[i] = rec
    tested = {rec.get("child_id") for i, rec in enumerate(out.dna) if i in dna_idx}
    candidates = [lk for lk in out.links if lk.ice_record_ids and not tested & set(lk.child_record_ids)]
    next_case = 1 + max(
        (
            int(r["case_id"][4:])
            for r in (out.dna[i] for i in dna_idx)
            if str(r.get("case_id", ""))[4:].isdigit()
        ),
        default=0,
    )
    adults = {rec.get("subject_id"): rec for i, rec in enumerate(out.ice) if i in ice_idx}
    for link in rng.sample(candidates, min(len(candidates), round(fraction * len(out.links)))):
        adult = adults.get(link.ice_record_ids[-1]) or {}
        out.dna.append(
            {
                "case_id": f"DNA-{next_case:07d}",
                "adult_a_number": normalise.a_number(adult.get("a_number")),
                "child_a_number": None,
                "adult_subject_id": link.ice_record_ids[-1],
                "child_id": rng.choice(link.child_record_ids),
                "result": rng.choices(_NEW_DNA, (0.75, 0.15, 0.06, 0.04))[0],
                "reported_at": f"{when().isoformat()}T12:00:00Z",
            }
        )
        next_case += 1
    # Changes replace records in place or append well-formed ones: malformed indexes stand.
    out.truth = compute_truth(out)
    return out


def _transfer(rng: random.Random, orr: Sequence[Any], rec: Mapping[str, Any]) -> tuple[Any, Any]:
    """Another shelter already seen in the feed (a transfer between shelters)."""
    for _ in range(10):
        other = orr[rng.randrange(len(orr))]
        facility = other.get("facilityId") if isinstance(other, dict) else None
        if facility and facility != rec.get("facilityId"):
            return other["facilityId"], other.get("facilityName")
    return rec.get("facilityId"), rec.get("facilityName")


def _row_for(rng: random.Random, adult: Mapping[str, Any], day: date) -> list[str]:
    """A removal row for an ICE adult, written the way the removal list writes people."""
    dob = normalise.iso_date(adult.get("birth_date"))
    a = normalise.a_number(adult.get("a_number"))
    return [
        "@",
        a or "",
        normalise.fold(adult.get("last_name")),
        normalise.fold(adult.get("first_name")),
        _us(dob) if dob else "",
        normalise.country(adult.get("citizenship")) or "",
        _us(day),
        rng.choice(names.PORTS),
    ]


__all__ = [
    "DEFAULT_AS_OF",
    "FEEDS",
    "REMOVALS_HEADER",
    "STATUSES",
    "ChildLink",
    "Rates",
    "World",
    "compute_truth",
    "find_malformed",
    "generate_world",
    "load_world",
    "mutate_world",
]
