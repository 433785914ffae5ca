"""Partitioned matching: a run's partition count and the matching state its steps hand on.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # in place on SQLite, like 0004: a constant default, no table rebuild
    op.add_column("runs", sa.Column("partitions", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "run_artifacts",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_artifacts_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "name", name="pk_run_artifacts"),
    )


def downgrade() -> None:
    op.drop_table("run_artifacts")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("partitions")
