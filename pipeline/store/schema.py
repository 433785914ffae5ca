"""The store's tables, as SQLAlchemy Core metadata.

The migrations in ``migrations/versions`` create exactly these tables (a test compares the two);
change both together. Timestamps are stored in UTC and always come back timezone-aware, on
SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from pipeline.records import MAX_RECORD_ID_CHARS

RUN_STATUSES: tuple[str, ...] = ("running", "succeeded", "failed")
# What became of a run that ended: its status, or ``refused`` for a failed run that a publish gate
# stopped before publishing (pipeline/gates.py; ``runs.refused``), or ``cancelled`` for one an
# operator cancelled (pipeline/cancel.py; ``runs.cancelled_at``): neither failed nor succeeded.
RUN_OUTCOMES: tuple[str, ...] = ("succeeded", "failed", "refused", "cancelled")
# A publish gate's verdict on one feed of a run (``run_gate_checks.outcome``).
GATE_OUTCOMES: tuple[str, ...] = ("passed", "refused", "accepted")
DECISIONS: tuple[str, ...] = ("confirm", "reject")
# A reviewer's verdict on a link of the quality sample (``quality_verdicts.verdict``).
QUALITY_VERDICTS: tuple[str, ...] = ("correct", "wrong")
# The console's roles, least to most trusted (pipeline/web/roles.py says what each may see).
ROLES: tuple[str, ...] = ("viewer", "caseworker", "admin")

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC; naive values are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use a timezone-aware one")
        value = value.astimezone(UTC)
        # SQLite keeps text without an offset: store UTC wall time so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("trigger", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(64), nullable=True),
    sa.Column("as_of", sa.Date(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
    sa.Column("deadline", UTCDateTime(), nullable=True),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("results_count", sa.Integer(), nullable=True),
    # full: every feed fetched whole; incremental: only what changed since the last good run.
    sa.Column("mode", sa.String(16), nullable=False, server_default="full"),
    # how many partitions the run's matching is split into (steps match:0 ... match:n-1)
    sa.Column("partitions", sa.Integer(), nullable=False, server_default="1"),
    # a failed run that the publish gates stopped before publishing (its outcome is "refused")
    sa.Column("refused", sa.Boolean(), nullable=False, server_default=sa.false()),
    # a failed run that an operator cancelled (`reunify cancel`; its outcome is "cancelled")
    sa.Column("cancelled_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
    sa.Index(None, "status", "finished_at"),
    sa.Index(None, "started_at"),
)

# Per-feed counts of a run: one row per (run, feed) so that workers fetching different feeds in
# parallel each overwrite their own row (a JSON column on ``runs`` would lose updates).
run_feed_counts = sa.Table(
    "run_feed_counts",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("feed", sa.String(16), primary_key=True),
    sa.Column("fetched", sa.Integer(), nullable=False),
    sa.Column("valid", sa.Integer(), nullable=False),
    sa.Column("quarantined", sa.Integer(), nullable=False),
)

# The steps of a run executed by workers (``fetch:orr`` ... ``reconcile``, ``publish``): when the
# step's message was last sent, who holds its lease (a worker heartbeats it while it works) and
# when it was done. A watchdog re-sends a step whose lease ran out (its worker died) and a stage
# advances only when all of its steps are done.
run_steps = sa.Table(
    "run_steps",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("step", sa.String(32), primary_key=True),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.Column("sends", sa.Integer(), nullable=False),
    sa.Column("owner", sa.String(255), nullable=True),
    sa.Column("lease_until", UTCDateTime(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("done_at", UTCDateTime(), nullable=True),
)

# Raw records of one run, one row per (run, feed, record id): the copy with the latest
# updated_at wins. updated_at is the feed's ISO text ('' when the feed has none).
feed_records = sa.Table(
    "feed_records",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("feed", sa.String(16), primary_key=True),
    sa.Column("record_id", sa.String(MAX_RECORD_ID_CHARS), primary_key=True),
    sa.Column("updated_at", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("feed", sa.String(16), nullable=False),
    sa.Column("record_id", sa.String(MAX_RECORD_ID_CHARS), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Index(None, "run_id", "feed"),
)

# One row per child per run; child_key is the child's first ORR record id.
results = sa.Table(
    "results",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("child_key", sa.String(MAX_RECORD_ID_CHARS), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("cohort", sa.String(16), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    # The names, A-numbers and record ids of the child and its parent folded to upper case without
    # accents (pipeline/store/history.py search_text): the console's search reads this, never
    # the payloads. NULL for results stored before migration 0007.
    sa.Column("search", sa.Text(), nullable=True),
)

locks = sa.Table(
    "locks",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

review_decisions = sa.Table(
    "review_decisions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("child_key", sa.String(MAX_RECORD_ID_CHARS), nullable=False),
    sa.Column("adult_key", sa.String(MAX_RECORD_ID_CHARS), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("who", sa.String(255), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=False),
    sa.Column("why", sa.Text(), nullable=False),
    sa.CheckConstraint("decision IN ('confirm', 'reject')", name="decision"),
    sa.Index(None, "child_key", "adult_key"),
)

feed_cursors = sa.Table(
    "feed_cursors",
    metadata,
    sa.Column("feed", sa.String(16), primary_key=True),
    sa.Column("last_successful_fetch_at", UTCDateTime(), nullable=False),
)

# Operators' views (report, show, discrepancies). One compact row per child per run, written with
# the run's results and kept when old runs are pruned, so status history and trends span every
# run. No personal data: ids, status and location fields only.
result_history = sa.Table(
    "result_history",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("child_key", sa.String(MAX_RECORD_ID_CHARS), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("cohort", sa.String(16), nullable=False),
    sa.Column("location_state", sa.String(32), nullable=False),
    sa.Column("resolved", sa.Boolean(), nullable=False),
    sa.Column("parent_key", sa.String(MAX_RECORD_ID_CHARS), nullable=True),
    sa.Column("location_since", sa.String(10), nullable=True),
    sa.Column("days_unresolved", sa.Integer(), nullable=True),
    sa.Column("match_score", sa.Float(), nullable=True),
    sa.Column("needs_review", sa.Boolean(), nullable=False),
    # where the parent is held or was removed to: the console filters on them (codes, not people)
    sa.Column("facility", sa.String(64), nullable=True),
    sa.Column("country", sa.String(64), nullable=True),
    sa.Index(None, "child_key"),
    # the console's children table: a status filter, and the longest-unresolved order, per run
    sa.Index(None, "run_id", "status"),
    sa.Index(None, "run_id", "days_unresolved"),
)

# A run's children counted by status, cohort, whether the parent's location is resolved and whether
# the link needs review: written with the run's history in the publish transaction (and kept with
# it), so the dashboard, the summary, the trend over runs and the metrics read a few dozen rows a
# run instead of grouping every child's history row at each request.
run_totals = sa.Table(
    "run_totals",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("status", sa.String(32), primary_key=True),
    sa.Column("cohort", sa.String(16), primary_key=True),
    sa.Column("resolved", sa.Boolean(), primary_key=True),
    sa.Column("needs_review", sa.Boolean(), primary_key=True),
    sa.Column("children", sa.Integer(), nullable=False),
)

# Runner-up parent candidates of a child in a run (the matcher's alternatives), kept beside the
# results and not inside the export object, which must stay the contract's. Payload: JSON object
# shaped like the export's ``parent``.
result_candidates = sa.Table(
    "result_candidates",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("child_key", sa.String(MAX_RECORD_ID_CHARS), primary_key=True),
    sa.Column("rank", sa.Integer(), primary_key=True),
    sa.Column("payload", sa.Text(), nullable=False),
)

# The matching state a run's steps hand to each other (the model, partition plans, first-pass
# links: JSON of ids and weights, never records), deleted when the run is published or pruned.
run_artifacts = sa.Table(
    "run_artifacts",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("body", sa.Text(), nullable=False),
)

# The publish gates' verdicts (pipeline/gates.py): one row per run, gate and feed, written before
# the run is published or refused, kept when old runs are pruned. ``measured`` is the gate's
# fraction (drop or quarantine rate; NULL without a baseline), ``observed`` and ``reference`` the
# two counts it compares (valid now and in the baseline run; quarantined and served). No
# personal data: counts and feed names only.
run_gate_checks = sa.Table(
    "run_gate_checks",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("gate", sa.String(32), primary_key=True),
    sa.Column("feed", sa.String(16), primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("measured", sa.Float(), nullable=True),
    sa.Column("threshold", sa.Float(), nullable=False),
    sa.Column("observed", sa.Integer(), nullable=False),
    sa.Column("reference", sa.Integer(), nullable=True),
    sa.Column("baseline_run_id", sa.String(64), nullable=True),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("checked_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(f"outcome IN ({', '.join(repr(o) for o in GATE_OUTCOMES)})", name="outcome"),
)

# An operator's acceptance of a real drop of one feed for one run (`reunify run --accept-drop
# FEED --reason TEXT`), stored when the run begins so that whichever worker runs its publish step
# sees it: the gates of that feed record "accepted" instead of refusing that run.
run_acceptances = sa.Table(
    "run_acceptances",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("feed", sa.String(16), primary_key=True),
    sa.Column("who", sa.String(255), nullable=False),
    sa.Column("why", sa.Text(), nullable=False),
    sa.Column("accepted_at", UTCDateTime(), nullable=False),
)

# The console's users (`reunify users ...`): an Argon2 hash, never the password; ``failed_logins``
# and ``locked_until`` hold the lockout after repeated wrong passwords.
web_users = sa.Table(
    "web_users",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text(), nullable=False),
    sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="role"),
)

# Console sessions, server side so that logout, disabling a user and the idle timeout end them at
# once. ``token_hash`` is the SHA-256 of the cookie's session token: the table alone opens nothing.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer(), sa.ForeignKey("web_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Index(None, "user_id"),
)

# The audit trail: who saw which children's personal data, and every decision, by ids only
# (``child_ids`` is a JSON list of child record ids; ``detail`` never holds personal data).
# Append-only: the migration adds triggers that refuse UPDATE and DELETE on both databases.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("route", sa.String(255), nullable=False),
    sa.Column("child_ids", sa.Text(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False, server_default=""),
    sa.Index(None, "at"),
    sa.Index(None, "username"),
)

# -- case work (issue 16; pipeline/store/cases.py) -------------------------------------------
# Each vocabulary of case work, declared once: code -> the words the console and the lists show.
CASE_KINDS: dict[str, str] = {"parent": "parent to locate", "find_parent": "parent to find"}
CASE_STATES: dict[str, str] = {
    "open": "open",
    "contacting": "contacting",
    "located": "parent located",
    "closed": "closed",
}
CONTACT_CHANNELS: dict[str, str] = {
    "phone": "phone",
    "consulate": "consulate",
    "ngo": "NGO",
    "legal_aid": "legal aid",
    "ice_ero": "ICE ERO",
    "in_person": "in person",
    "other": "other",
}
CONTACT_LANGUAGES: dict[str, str] = {
    "spanish": "Spanish",
    "english": "English",
    "mam": "Mam",
    "kiche": "K'iche'",
    "qanjobal": "Q'anjob'al",
    "portuguese": "Portuguese",
    "other": "other",
}
CONTACT_OUTCOMES: dict[str, str] = {
    "reached": "reached",
    "no_answer": "no answer",
    "wrong_number": "wrong number",
    "message_left": "message left",
    "declined": "parent declined",
    "other": "other",
}
STATED_WISHES: dict[str, str] = {
    "reunify": "reunify",
    "waive": "waive reunification",
    "undecided": "undecided",
}
# A record id of the person a case follows, tagged with its feed ("ice:ICE-1", "removals:RM-1",
# "orr:ORR-1" for a child whose parent is to be found).
CASE_IDENTITY_CHARS = MAX_RECORD_ID_CHARS + 16


def _in(values: dict[str, str]) -> str:
    return ", ".join(repr(v) for v in values)


# One case per parent (or per child whose parent is to be found), kept across runs: the work
# (state, assignee, flag) and, for the list's filters and order, the figures of the last run the
# case was seen in (``seen_run_id``). ``in_list``: in that run's parents-to-locate list.
cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("close_reason", sa.Text(), nullable=True),
    sa.Column("assignee", sa.String(64), nullable=True),
    sa.Column("flag", sa.Text(), nullable=True),
    sa.Column("flagged_at", UTCDateTime(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("created_run_id", sa.String(64), nullable=False),
    sa.Column("seen_run_id", sa.String(64), nullable=False),
    sa.Column("in_list", sa.Boolean(), nullable=False),
    sa.Column("parent_key", sa.String(MAX_RECORD_ID_CHARS), nullable=True),
    sa.Column("cohort", sa.String(16), nullable=True),
    sa.Column("days_unresolved", sa.Integer(), nullable=True),
    sa.Column("location_state", sa.String(32), nullable=False),
    sa.Column("country", sa.String(64), nullable=True),
    sa.Column("parent_facility", sa.String(64), nullable=True),
    sa.Column("children", sa.Integer(), nullable=False),
    sa.CheckConstraint(f"kind IN ({_in(CASE_KINDS)})", name="kind"),
    sa.CheckConstraint(f"state IN ({_in(CASE_STATES)})", name="state"),
    sa.Index(None, "in_list", "cohort", "days_unresolved"),
    sa.Index(None, "assignee"),
    sa.Index(None, "seen_run_id"),
)

# The person a case follows: the tagged record ids it was last seen with (replaced when a later
# run recognises the same person under other ids).
case_identities = sa.Table(
    "case_identities",
    metadata,
    sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("record_id", sa.String(CASE_IDENTITY_CHARS), primary_key=True),
    sa.Index(None, "record_id"),
)

# The children of a case in the run it was last seen in (ids, status and the child's ORR facility).
case_members = sa.Table(
    "case_members",
    metadata,
    sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("child_key", sa.String(MAX_RECORD_ID_CHARS), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("cohort", sa.String(16), nullable=False),
    sa.Column("facility", sa.String(64), nullable=True),
    sa.Column("facility_name", sa.String(255), nullable=True),
    sa.Index(None, "child_key"),
    sa.Index(None, "facility", "case_id"),
)

# Contact attempts: append-only (the migration's triggers refuse UPDATE and DELETE), each with
# its author. ``wish``: the parent's stated wish, where given.
contact_attempts = sa.Table(
    "contact_attempts",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("attempted_at", UTCDateTime(), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("wish", sa.String(16), nullable=True),
    sa.Column("notes", sa.Text(), nullable=False),
    sa.Column("next_action", sa.Text(), nullable=False),
    sa.Column("next_action_due", sa.Date(), nullable=True),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(f"channel IN ({_in(CONTACT_CHANNELS)})", name="channel"),
    sa.CheckConstraint(f"language IN ({_in(CONTACT_LANGUAGES)})", name="language"),
    sa.CheckConstraint(f"outcome IN ({_in(CONTACT_OUTCOMES)})", name="outcome"),
    sa.CheckConstraint(f"wish IS NULL OR wish IN ({_in(STATED_WISHES)})", name="wish"),
    sa.Index(None, "case_id"),
)

# What happened to a case (created, assigned, state changed, flagged, followed to new ids, flag
# seen): append-only like the contact attempts. ``detail`` holds ids and codes, never names.
case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("who", sa.String(64), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Index(None, "case_id"),
)

# The runs whose results the cases were brought up to (one sync per run, done once).
case_syncs = sa.Table(
    "case_syncs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("synced_at", UTCDateTime(), nullable=False),
    sa.Column("cases", sa.Integer(), nullable=False),
    sa.Column("in_list", sa.Integer(), nullable=False),
)

# The quality sample (issue 16 item 7): confident links of a published run drawn at random when it
# was published (REUNIFY_QUALITY_SAMPLE_SHARE of them), for reviewers to check.
quality_samples = sa.Table(
    "quality_samples",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("child_key", sa.String(MAX_RECORD_ID_CHARS), primary_key=True),
    sa.Column("adult_key", sa.String(MAX_RECORD_ID_CHARS), nullable=False),
    sa.Column("match_score", sa.Float(), nullable=False),
    sa.Column("drawn_at", UTCDateTime(), nullable=False),
)

# Reviewers' verdicts on sampled links, by (child, adult): kept when the run they were drawn in is
# pruned, since the estimate of precision is over every verdict (the latest per link counts).
quality_verdicts = sa.Table(
    "quality_verdicts",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("child_key", sa.String(MAX_RECORD_ID_CHARS), nullable=False),
    sa.Column("adult_key", sa.String(MAX_RECORD_ID_CHARS), nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("who", sa.String(64), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=False),
    sa.Column("note", sa.Text(), nullable=False, server_default=""),
    sa.CheckConstraint("verdict IN (" + ", ".join(repr(v) for v in QUALITY_VERDICTS) + ")", name="verdict"),
    sa.Index(None, "child_key", "adult_key"),
)
