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

from pipeline.ops.escape import term_text

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


def _escape_controls(_logger: Any, _method: str, rendered: str) -> str:
    # A readable line goes to a terminal: an error message quoting a feed (a redirect's origin)
    # must not retitle or clear it. JSON lines escape controls already.
    return term_text(rendered, keep_newlines=True)


def _clear_progress_line(_logger: Any, _method: str, rendered: str) -> str:
    # On a terminal the CLI redraws a progress line in place; a log line must start on a clean one.
    return "\r\x1b[2K" + rendered


def configure_logging(level: str | None = None, json: bool | None = None, stream: Any = None) -> None:
    """Configure structlog and the stdlib root logger: one stream, one format.

    ``level`` None means INFO, or WARNING when writing to a terminal (where the CLI's progress
    display tells the story and a log line is for what needs attention). Records of stdlib loggers
    (Celery's, kombu's, alembic's) go through the same processors as structlog's, so a worker's log
    is all JSON lines with timestamps when not on a terminal.
    """
    out = stream or sys.stderr
    on_terminal = out.isatty()
    level = level or ("WARNING" if on_terminal else "INFO")
    as_json = (not on_terminal) if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_personal,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    tail: list[Any] = [structlog.processors.format_exc_info, renderer]
    if not as_json:
        tail.append(_escape_controls)
    if on_terminal and not as_json:
        tail.append(_clear_progress_line)
    structlog.configure(
        processors=[*shared, *tail],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # One write per line, newline included: print() writes the newline apart, and under
        # PYTHONUNBUFFERED a pool process's line can land between the two in a shared log file.
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
        )
    )
    root = logging.getLogger()
    # Replace, not add: Celery installs its own handlers before its after_setup_logger signal.
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # a library's warning is a log line too, not raw stderr text
    for noisy in ("urllib3", "alembic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def route_to_root(logger: logging.Logger) -> None:
    """Make a logger that has handlers of its own (Celery's task logger) write through the root's."""
    logger.handlers.clear()
    logger.propagate = True


@contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Bind run_id, task_id, feed, stage... to every log line inside the block."""
    clean = {k: v for k, v in ids.items() if v is not None}
    with structlog.contextvars.bound_contextvars(**clean):
        yield


def get_logger(name: str) -> Any:
    """A structlog logger named for its module."""
    return structlog.get_logger(name)
