"""Case work: cases (one per parent to locate, or per child whose parent is to be found) with
their identities and members, append-only contact attempts and case events, and the runs the
cases were brought up to.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The vocabularies as they stood at this revision (pipeline/store/schema.py declares them).
_KINDS = ("parent", "find_parent")
_STATES = ("open", "contacting", "located", "closed")
_CHANNELS = ("phone", "consulate", "ngo", "legal_aid", "ice_ero", "in_person", "other")
_LANGUAGES = ("spanish", "english", "mam", "kiche", "qanjobal", "portuguese", "other")
_OUTCOMES = ("reached", "no_answer", "wrong_number", "message_left", "declined", "other")
_WISHES = ("reunify", "waive", "undecided")
_APPEND_ONLY = ("contact_attempts", "case_events")
_RECORD_ID = 255


def _in(values: Sequence[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("flag", sa.Text(), nullable=True),
        _ts("flagged_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("created_run_id", sa.String(64), nullable=False),
        sa.Column("seen_run_id", sa.String(64), nullable=False),
        sa.Column("in_list", sa.Boolean(), nullable=False),
        sa.Column("parent_key", sa.String(_RECORD_ID), nullable=True),
        sa.Column("cohort", sa.String(16), nullable=True),
        sa.Column("days_unresolved", sa.Integer(), nullable=True),
        sa.Column("location_state", sa.String(32), nullable=False),
        sa.Column("country", sa.String(64), nullable=True),
        sa.Column("parent_facility", sa.String(64), nullable=True),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.CheckConstraint(f"kind IN ({_in(_KINDS)})", name="ck_cases_kind"),
        sa.CheckConstraint(f"state IN ({_in(_STATES)})", name="ck_cases_state"),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
    )
    op.create_index(
        "ix_cases_in_list_cohort_days_unresolved", "cases", ["in_list", "cohort", "days_unresolved"]
    )
    op.create_index("ix_cases_assignee", "cases", ["assignee"])
    op.create_index("ix_cases_seen_run_id", "cases", ["seen_run_id"])
    op.create_table(
        "case_identities",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(_RECORD_ID + 16), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_identities_case_id_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "record_id", name="pk_case_identities"),
    )
    op.create_index("ix_case_identities_record_id", "case_identities", ["record_id"])
    op.create_table(
        "case_members",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("child_key", sa.String(_RECORD_ID), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("cohort", sa.String(16), nullable=False),
        sa.Column("facility", sa.String(64), nullable=True),
        sa.Column("facility_name", sa.String(255), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_members_case_id_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "child_key", name="pk_case_members"),
    )
    op.create_index("ix_case_members_child_key", "case_members", ["child_key"])
    op.create_index("ix_case_members_facility_case_id", "case_members", ["facility", "case_id"])
    op.create_table(
        "contact_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        _ts("attempted_at"),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("wish", sa.String(16), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("next_action", sa.Text(), nullable=False),
        sa.Column("next_action_due", sa.Date(), nullable=True),
        sa.Column("author", sa.String(64), nullable=False),
        _ts("recorded_at"),
        sa.CheckConstraint(f"channel IN ({_in(_CHANNELS)})", name="ck_contact_attempts_channel"),
        sa.CheckConstraint(f"language IN ({_in(_LANGUAGES)})", name="ck_contact_attempts_language"),
        sa.CheckConstraint(f"outcome IN ({_in(_OUTCOMES)})", name="ck_contact_attempts_outcome"),
        sa.CheckConstraint(f"wish IS NULL OR wish IN ({_in(_WISHES)})", name="ck_contact_attempts_wish"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_contact_attempts_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_contact_attempts"),
    )
    op.create_index("ix_contact_attempts_case_id", "contact_attempts", ["case_id"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        _ts("at"),
        sa.Column("who", sa.String(64), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_events_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "case_syncs",
        sa.Column("run_id", sa.String(64), nullable=False),
        _ts("synced_at"),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("in_list", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_case_syncs"),
    )
    # Append-only in the database itself, as the audit trail (0007).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION reunify_case_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in _APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION reunify_case_append_only()"
            )
    else:
        for table in _APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS reunify_case_append_only()")
    for table in ("case_syncs", "case_events", "contact_attempts", "case_members", "case_identities"):
        op.drop_table(table)
    op.drop_index("ix_cases_seen_run_id", table_name="cases")
    op.drop_index("ix_cases_assignee", table_name="cases")
    op.drop_index("ix_cases_in_list_cohort_days_unresolved", table_name="cases")
    op.drop_table("cases")
