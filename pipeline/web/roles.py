"""Who may see what in the console: one declaration the pages, the API and the menus derive from."""

from __future__ import annotations

from pipeline.store.schema import ROLES

#: What each role adds to the one below it.
ROLE_GRANTS: dict[str, str] = {
    "viewer": "aggregate figures only: counts, deadlines, runs, the court report without names",
    "caseworker": "children's and parents' records, search, the child's story, downloads, review "
    "(decisions, the quality sample's verdicts, re-reconcile without fetching)",
    "admin": "users, quarantine payloads, the audit trail; starting and cancelling runs, "
    "accepting a gated drop",
}


def rank(role: str) -> int:
    """The role's place in ROLES (viewer 0, caseworker 1, admin 2); -1 for an unknown role."""
    return ROLES.index(role) if role in ROLES else -1


def allows(role: str, needed: str) -> bool:
    """True when ``role`` may do what ``needed`` may."""
    return rank(role) >= rank(needed) >= 0
