"""Compact per-run rows of each child's status and parent location (``result_history``).

They are derived from the export objects when a run's results are stored, and outlive the
pruning of old runs' results, so status histories and trends span every run. They hold ids,
statuses and location fields only: no names, A-numbers or dates of birth.
"""

from __future__ import annotations

from typing import Any

from pipeline.normalise import fold


def child_key(obj: dict[str, Any]) -> str:
    """The one key of a child everywhere (store, review decisions, reconcile): its smallest record id."""
    return str(min(obj["child_record_ids"]))


def parent_key(obj: dict[str, Any]) -> str | None:
    """A stable key of the linked parent: the smallest ICE record id, else the smallest removal id."""
    parent = obj.get("parent") or {}
    ids = sorted(parent.get("ice_record_ids") or []) or sorted(parent.get("removal_record_ids") or [])
    return str(ids[0]) if ids else None


def history_row(run_id: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The ``result_history`` row of one export object."""
    parent = obj.get("parent") or {}
    loc = obj.get("parent_location") or {}
    return {
        "run_id": run_id,
        "child_key": child_key(obj),
        "status": obj["status"],
        "cohort": obj["cohort"],
        "location_state": loc.get("state") or "unknown",
        "resolved": bool(loc.get("resolved")),
        "parent_key": parent_key(obj),
        "location_since": loc.get("since"),
        "days_unresolved": loc.get("days_unresolved"),
        "match_score": parent.get("match_score"),
        "needs_review": bool(obj.get("needs_review")),
        **dict(zip(("facility", "country"), location_codes(obj), strict=True)),
    }


def location_codes(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """The facility code and country of the parent's location (cut to their columns' width)."""
    loc = obj.get("parent_location") or {}
    facility, country = loc.get("facility"), loc.get("country")
    return (
        str(facility)[:64] if facility else None,
        str(country)[:64] if country else None,
    )


def search_text(obj: dict[str, Any]) -> str:
    """What the console's search matches: the child's and the parent's names folded (upper case, no
    accents), their A-numbers and the record ids, space-separated and framed by spaces so that a
    term can be matched as a whole token (`` TERM ``) or a part (``TERM``)."""
    parent = obj.get("parent") or {}
    parts = [
        fold(obj.get("name")),
        fold(parent.get("name")),
        str(obj.get("a_number") or ""),
        str(parent.get("a_number") or ""),
        *(str(i).upper() for i in obj.get("child_record_ids") or ()),
        *(str(i).upper() for i in parent.get("ice_record_ids") or ()),
        *(str(i).upper() for i in parent.get("removal_record_ids") or ()),
    ]
    return " " + " ".join(p for p in parts if p) + " "


HISTORY_COLUMNS: tuple[str, ...] = (
    "run_id",
    "child_key",
    "status",
    "cohort",
    "location_state",
    "resolved",
    "parent_key",
    "location_since",
    "days_unresolved",
    "match_score",
    "needs_review",
    "facility",
    "country",
)
