"""The results store: runs, raw feed records, quarantine, results, locks, review decisions.

One façade (``Store``, ``sql.py``) over repositories by role (``runs.py``, ``locks.py``,
``leases.py``, ``feed_records.py``, ``results.py``, ``decisions.py``, ``artifacts.py``,
``queries.py``; their Protocols in ``ports.py``), over SQLAlchemy Core, identical on SQLite and
PostgreSQL, with Alembic migrations shipped in ``migrations/`` and applied on first use or by
``Store.upgrade()``.
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
