"""structlog set-up: JSON lines off a terminal, readable lines on one, run and task ids bound.

Personal data never goes into a log line: callers log ids of runs, feeds and records, counts and
timings only. As a second line of defence, ``redact_personal`` drops any event key that names a
personal field.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

_PERSONAL_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "firstname",
        "lastname",
        "a_number",
        "anumber",
        "dob",
        "date_of_birth",
        "birth_date",
        "token",
        "authorization",
        "password",
    }
)


def redact_personal(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace the value of any key that names personal data or a secret."""
    for key in list(event):
        if key.lower() in _PERSONAL_KEYS:
            event[key] = "[redacted]"
    return event


_configured = False


def configure_logging(level: str = "INFO", json: bool | None = None, stream: Any = None) -> None:
    """Configure structlog and the stdlib root logger once per process."""
    global _configured
    out = stream or sys.stderr
    as_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_personal,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), stream=out, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("urllib3", "alembic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True


@contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Bind run_id, task_id, feed, stage... to every log line inside the block."""
    clean = {k: v for k, v in ids.items() if v is not None}
    with structlog.contextvars.bound_contextvars(**clean):
        yield


def get_logger(name: str) -> Any:
    """A structlog logger named for its module."""
    return structlog.get_logger(name)
