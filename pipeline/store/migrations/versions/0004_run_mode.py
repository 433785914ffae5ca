"""Run mode: full or incremental fetch.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with a constant default: SQLite does it in place (no table rebuild, so
    # the rows that reference runs are never touched).
    op.add_column("runs", sa.Column("mode", sa.String(16), nullable=False, server_default="full"))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("mode")
