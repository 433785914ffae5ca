"""The quality sample: confident links of a published run drawn at random for reviewers to check,
and the reviewers' verdicts on them (the estimate of link precision on the dashboard).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The vocabulary as it stood at this revision (pipeline/store/schema.py declares it).
_VERDICTS = ("correct", "wrong")
_RECORD_ID = 255


def upgrade() -> None:
    op.create_table(
        "quality_samples",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("child_key", sa.String(_RECORD_ID), nullable=False),
        sa.Column("adult_key", sa.String(_RECORD_ID), nullable=False),
        sa.Column("match_score", sa.Float(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_quality_samples_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "child_key", name="pk_quality_samples"),
    )
    op.create_table(
        "quality_verdicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("child_key", sa.String(_RECORD_ID), nullable=False),
        sa.Column("adult_key", sa.String(_RECORD_ID), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("who", sa.String(64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "verdict IN (" + ", ".join(repr(v) for v in _VERDICTS) + ")", name="ck_quality_verdicts_verdict"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_quality_verdicts"),
    )
    op.create_index("ix_quality_verdicts_child_key_adult_key", "quality_verdicts", ["child_key", "adult_key"])


def downgrade() -> None:
    op.drop_index("ix_quality_verdicts_child_key_adult_key", table_name="quality_verdicts")
    op.drop_table("quality_verdicts")
    op.drop_table("quality_samples")
