"""Run totals: each published run's children counted by status, cohort, resolved location and
review flag, written at publish so the console's dashboard and summary, the trend over runs and
the metrics read a few rows a run instead of grouping every child's history row per request.

The runs published before this revision are counted here from their ``result_history`` rows
(which every published run keeps, pruned or not).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_totals",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("cohort", sa.String(16), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_totals_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "status", "cohort", "resolved", "needs_review", name="pk_run_totals"
        ),
    )
    op.execute(
        "INSERT INTO run_totals (run_id, status, cohort, resolved, needs_review, children) "
        "SELECT run_id, status, cohort, resolved, needs_review, COUNT(*) FROM result_history "
        "GROUP BY run_id, status, cohort, resolved, needs_review"
    )


def downgrade() -> None:
    op.drop_table("run_totals")
