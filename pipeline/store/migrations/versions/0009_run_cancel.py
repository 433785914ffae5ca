"""Run cancellation: when an operator cancelled a run (``reunify cancel``).

A cancelled run keeps the status ``failed`` (the CHECK constraint on ``runs.status`` stays: widening
it would rebuild ``runs`` on SQLite, whose foreign keys cascade) with ``cancelled_at`` set; its
outcome is then ``cancelled`` (``RunInfo.outcome``), like ``refused`` for the publish gates.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a nullable column without a default: in place on SQLite, no table rebuild
    op.add_column("runs", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("cancelled_at")
