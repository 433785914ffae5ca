"""A world's model and files: the four feeds' payloads as served, the answer key, loading.

``removals`` rows are kept without the header; :func:`load_world` reads the sample's file names.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.errors import MalformedRecord
from pipeline.parse import REMOVAL_COLUMNS, parse_adult, parse_child, parse_dna, parse_removal
from pipeline.records import FeedSnapshot
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


def us_date(day: date) -> str:
    """MM/DD/YYYY, the removal list's date form (an f-string is much faster than strftime)."""
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"
