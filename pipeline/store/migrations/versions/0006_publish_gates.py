"""Publish gates: each run's gate verdicts per feed, operators' acceptances of a real drop, and
whether a failed run was refused by the gates.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # in place on SQLite, like 0004: a constant default, no table rebuild
    op.add_column("runs", sa.Column("refused", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "run_gate_checks",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("gate", sa.String(32), nullable=False),
        sa.Column("feed", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("measured", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("reference", sa.Integer(), nullable=True),
        sa.Column("baseline_run_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('passed', 'refused', 'accepted')", name="ck_run_gate_checks_outcome"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_gate_checks_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "gate", "feed", name="pk_run_gate_checks"),
    )
    op.create_table(
        "run_acceptances",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("feed", sa.String(16), nullable=False),
        sa.Column("who", sa.String(255), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_acceptances_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "feed", name="pk_run_acceptances"),
    )


def downgrade() -> None:
    op.drop_table("run_acceptances")
    op.drop_table("run_gate_checks")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("refused")
