"""Reviewers' decisions on proposed child-adult links (they bind every later run)."""

from __future__ import annotations

import sqlalchemy as sa

from pipeline.store.db import Database
from pipeline.store.models import (
    Decision,
)
from pipeline.store.schema import (
    DECISIONS,
    review_decisions,
)


class DecisionRepository:
    """The ``review_decisions`` table (append-only)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_decision(self, child_key: str, adult_key: str, decision: str, who: str, why: str) -> Decision:
        """Record a reviewer's ``confirm`` or ``reject`` of a child-adult link."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        now = self._db.now()
        values = {
            "child_key": child_key,
            "adult_key": adult_key,
            "decision": decision,
            "who": who,
            "decided_at": now,
            "why": why,
        }
        with self._db.write("recording a review decision") as conn:
            new_id = conn.execute(
                sa.insert(review_decisions).values(values).returning(review_decisions.c.id)
            ).scalar_one()
        return Decision(
            id=new_id,
            child_key=child_key,
            adult_key=adult_key,
            decision=decision,
            who=who,
            decided_at=now,
            why=why,
        )

    def list_decisions(self, child_key: str | None = None) -> list[Decision]:
        """Review decisions in the order they were made (of one child, or all)."""
        d = review_decisions.c
        stmt = sa.select(review_decisions).order_by(d.decided_at, d.id)
        if child_key is not None:
            stmt = stmt.where(d.child_key == child_key)
        with self._db.read("listing review decisions") as conn:
            return [Decision(**row) for row in conn.execute(stmt).mappings()]
