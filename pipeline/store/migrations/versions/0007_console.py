"""The console: users, server-side sessions, the append-only audit trail; the columns its children
table filters and searches on (``results.search``, ``result_history.facility`` and ``country``),
filled in for the results already stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pipeline.store.history import location_codes, search_text

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY = "the audit trail is append-only"
_BATCH = 2000


def _backfill() -> None:
    conn = op.get_bind()
    results = sa.table(
        "results", sa.column("run_id"), sa.column("child_key"), sa.column("payload"), sa.column("search")
    )
    history = sa.table(
        "result_history",
        sa.column("run_id"),
        sa.column("child_key"),
        sa.column("facility"),
        sa.column("country"),
    )
    rows = conn.execute(sa.select(results.c.run_id, results.c.child_key, results.c.payload)).fetchall()
    for start in range(0, len(rows), _BATCH):
        chunk = rows[start : start + _BATCH]
        searches, places = [], []
        for run_id, key, payload in chunk:
            obj = json.loads(payload)
            facility, country = location_codes(obj)
            searches.append({"r": run_id, "k": key, "s": search_text(obj)})
            places.append({"r": run_id, "k": key, "f": facility, "c": country})
        conn.execute(
            sa.update(results)
            .where(results.c.run_id == sa.bindparam("r"), results.c.child_key == sa.bindparam("k"))
            .values(search=sa.bindparam("s")),
            searches,
        )
        conn.execute(
            sa.update(history)
            .where(history.c.run_id == sa.bindparam("r"), history.c.child_key == sa.bindparam("k"))
            .values(facility=sa.bindparam("f"), country=sa.bindparam("c")),
            places,
        )


def upgrade() -> None:
    op.add_column("results", sa.Column("search", sa.Text(), nullable=True))
    op.add_column("result_history", sa.Column("facility", sa.String(64), nullable=True))
    op.add_column("result_history", sa.Column("country", sa.String(64), nullable=True))
    _backfill()
    op.create_index("ix_result_history_run_id_status", "result_history", ["run_id", "status"])
    op.create_index(
        "ix_result_history_run_id_days_unresolved", "result_history", ["run_id", "days_unresolved"]
    )
    op.create_table(
        "web_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'caseworker', 'admin')", name="ck_web_users_role"),
        sa.PrimaryKeyConstraint("id", name="pk_web_users"),
        sa.UniqueConstraint("name", name="uq_web_users_name"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["web_users.id"], name="fk_web_sessions_user_id_web_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("route", sa.String(255), nullable=False),
        sa.Column("child_ids", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_username", "audit_log", ["username"])
    # Append-only in the database itself, not only in the code that writes it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION reunify_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION reunify_audit_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS reunify_audit_append_only()")
    op.drop_index("ix_audit_log_username", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("web_users")
    op.drop_index("ix_result_history_run_id_days_unresolved", table_name="result_history")
    op.drop_index("ix_result_history_run_id_status", table_name="result_history")
    with op.batch_alter_table("result_history") as batch:
        batch.drop_column("country")
        batch.drop_column("facility")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("search")
