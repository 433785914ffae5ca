"""The results store: runs, raw feed records, quarantine, results, locks, review decisions.

One small interface (``Store``) over SQLAlchemy Core, identical on SQLite and PostgreSQL, with
Alembic migrations shipped in ``migrations/`` and applied on first use or by ``Store.upgrade()``.
"""

from pipeline.store.models import (
    Acceptance,
    Decision,
    FeedCounts,
    GateCheck,
    LockHolder,
    ResultTotals,
    RunInfo,
    StepInfo,
)
from pipeline.store.sql import DEFAULT_URL, Store

__all__ = [
    "DEFAULT_URL",
    "Acceptance",
    "Decision",
    "FeedCounts",
    "GateCheck",
    "LockHolder",
    "ResultTotals",
    "RunInfo",
    "StepInfo",
    "Store",
]
