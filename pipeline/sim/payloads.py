"""The raw payloads of a world as the four feeds serve them, and their files on disk (the
sample's layout): what the generator writes, the simulator serves and hostile modes alter."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAYLOAD_FILES: dict[str, str] = {
    "orr": "orr_children.json",
    "ice": "ice_detainees.json",
    "removals": "removals.csv",
    "dna": "dna_results.json",
}


@dataclass(frozen=True)
class RawRecord:
    """A record the simulator serves as this JSON text, verbatim: what no encoder would write
    (nesting deeper than its recursion allows, JSON broken inside one record). Hostile modes
    put it in a feed's list; it cannot be saved to a world directory."""

    text: str


@dataclass
class WorldPayloads:
    """The raw payloads of one world, as the feeds serve them (malformed records included)."""

    orr: list[Any]
    ice: list[Any]
    removals_csv: str
    dna: list[Any]


def load_payloads(directory: str | Path) -> WorldPayloads:
    """Read a world directory with the sample's file names (a missing DNA file means no results)."""
    root = Path(directory)

    def read_json(feed: str) -> list[Any]:
        path = root / PAYLOAD_FILES[feed]
        if feed == "dna" and not path.exists():
            return []
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{path} must hold a JSON list of records")
        return data

    return WorldPayloads(
        orr=read_json("orr"),
        ice=read_json("ice"),
        removals_csv=(root / PAYLOAD_FILES["removals"]).read_text(encoding="utf-8"),
        dna=read_json("dna"),
    )


def save_payloads(payloads: WorldPayloads, directory: str | Path) -> Path:
    """Write payloads in the layout :func:`load_payloads` reads; returns the directory."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    for feed in ("orr", "ice", "dna"):
        records = getattr(payloads, feed)
        (root / PAYLOAD_FILES[feed]).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    (root / PAYLOAD_FILES["removals"]).write_text(payloads.removals_csv, encoding="utf-8")
    return root
