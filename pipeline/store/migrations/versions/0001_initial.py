"""Initial schema: runs, feed records, quarantine, results, locks, review decisions, feed cursors.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(64), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("results_count", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="ck_runs_status"),
    )
    op.create_index("ix_runs_status_finished_at", "runs", ["status", "finished_at"])
    op.create_index("ix_runs_started_at", "runs", ["started_at"])

    op.create_table(
        "run_feed_counts",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("feed", sa.String(16), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "feed", name="pk_run_feed_counts"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_feed_counts_run_id_runs", ondelete="CASCADE"
        ),
    )

    op.create_table(
        "feed_records",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("feed", sa.String(16), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "feed", "record_id", name="pk_feed_records"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_feed_records_run_id_runs", ondelete="CASCADE"
        ),
    )

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("feed", sa.String(16), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_quarantine_run_id_runs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_quarantine_run_id_feed", "quarantine", ["run_id", "feed"])

    op.create_table(
        "results",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("child_key", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("cohort", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "child_key", name="pk_results"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_results_run_id_runs", ondelete="CASCADE"),
    )

    op.create_table(
        "locks",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_locks"),
    )

    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("child_key", sa.String(255), nullable=False),
        sa.Column("adult_key", sa.String(255), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("who", sa.String(255), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_decisions"),
        sa.CheckConstraint("decision IN ('confirm', 'reject')", name="ck_review_decisions_decision"),
    )
    op.create_index("ix_review_decisions_child_key_adult_key", "review_decisions", ["child_key", "adult_key"])

    op.create_table(
        "feed_cursors",
        sa.Column("feed", sa.String(16), nullable=False),
        sa.Column("last_successful_fetch_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed", name="pk_feed_cursors"),
    )


def downgrade() -> None:
    op.drop_table("feed_cursors")
    op.drop_index("ix_review_decisions_child_key_adult_key", table_name="review_decisions")
    op.drop_table("review_decisions")
    op.drop_table("locks")
    op.drop_table("results")
    op.drop_index("ix_quarantine_run_id_feed", table_name="quarantine")
    op.drop_table("quarantine")
    op.drop_table("feed_records")
    op.drop_table("run_feed_counts")
    op.drop_index("ix_runs_started_at", table_name="runs")
    op.drop_index("ix_runs_status_finished_at", table_name="runs")
    op.drop_table("runs")
