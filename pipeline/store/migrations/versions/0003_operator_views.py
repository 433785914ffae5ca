"""Operators' views: per-run status history of each child, and runner-up parent candidates.

Revision ID: 0003
Revises: 0002
Create Date: 2024-06-20

``result_history`` is filled from the results already stored, so a database migrated after some
runs has their history too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_BATCH = 5000


def upgrade() -> None:
    history = op.create_table(
        "result_history",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("child_key", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("cohort", sa.String(16), nullable=False),
        sa.Column("location_state", sa.String(32), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("parent_key", sa.String(255), nullable=True),
        sa.Column("location_since", sa.String(10), nullable=True),
        sa.Column("days_unresolved", sa.Integer(), nullable=True),
        sa.Column("match_score", sa.Float(), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "child_key", name="pk_result_history"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_result_history_run_id_runs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_result_history_child_key", "result_history", ["child_key"])
    op.create_table(
        "result_candidates",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("child_key", sa.String(255), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "child_key", "rank", name="pk_result_candidates"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_result_candidates_run_id_runs", ondelete="CASCADE"
        ),
    )
    _backfill(op.get_bind(), history)


def _backfill(conn: sa.Connection, history: sa.Table | None) -> None:
    """History rows for every result already stored (the same fields the store writes)."""
    if history is None:
        return
    results = sa.table(
        "results", sa.column("run_id", sa.String()), sa.column("child_key"), sa.column("payload")
    )
    batch: list[dict[str, Any]] = []
    for row in conn.execute(sa.select(results.c.run_id, results.c.payload)):
        batch.append(history_row(row.run_id, json.loads(row.payload)))
        if len(batch) >= _BACKFILL_BATCH:
            conn.execute(history.insert(), batch)
            batch = []
    if batch:
        conn.execute(history.insert(), batch)


def history_row(run_id: str, obj: dict[str, Any]) -> dict[str, Any]:
    """A copy, frozen with this migration, of ``pipeline.store.history.history_row``."""
    parent = obj.get("parent") or {}
    loc = obj.get("parent_location") or {}
    ids = sorted(parent.get("ice_record_ids") or []) or sorted(parent.get("removal_record_ids") or [])
    return {
        "run_id": run_id,
        "child_key": min(obj["child_record_ids"]),
        "status": obj["status"],
        "cohort": obj["cohort"],
        "location_state": loc.get("state") or "unknown",
        "resolved": bool(loc.get("resolved")),
        "parent_key": ids[0] if ids else None,
        "location_since": loc.get("since"),
        "days_unresolved": loc.get("days_unresolved"),
        "match_score": parent.get("match_score"),
        "needs_review": bool(obj.get("needs_review")),
    }


def downgrade() -> None:
    op.drop_table("result_candidates")
    op.drop_index("ix_result_history_child_key", table_name="result_history")
    op.drop_table("result_history")
