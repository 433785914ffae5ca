"""Drop the unused feed-cursor table.

``feed_cursors`` (one row per feed: when it was last fetched whole) was made in 0001 for
incremental fetches, but no run ever wrote or read it: incremental runs take their high-water mark
from the last good run's records (``pipeline/incremental.py``). Only its own store test used it.
Downgrade recreates it empty, as 0001 made it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("feed_cursors")


def downgrade() -> None:
    op.create_table(
        "feed_cursors",
        sa.Column("feed", sa.String(16), nullable=False),
        sa.Column("last_successful_fetch_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed", name="pk_feed_cursors"),
    )
