"""One log stream: stdlib records (Celery's, kombu's) and structlog's events share one JSON format."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator

import pytest

from pipeline.logging import configure_logging, get_logger, route_to_root


class _Writes(io.StringIO):
    """A stream that keeps each write call apart, as an unbuffered stderr passes each to the fd."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return super().write(text)


@pytest.fixture
def stream() -> Iterator[_Writes]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = _Writes()
    configure_logging("INFO", json=True, stream=out)
    yield out
    root.handlers[:], level = saved
    root.setLevel(level)
    logging.captureWarnings(False)


def _events(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_stdlib_record_is_a_json_event_with_timestamp_level_and_logger(stream: io.StringIO) -> None:
    logging.getLogger("celery.apps.worker").info("%s ready.", "w1@host")
    get_logger("pipeline.run").info("run.started", run_id="r1")
    celery, ours = _events(stream)
    assert celery["event"] == "w1@host ready." and celery["logger"] == "celery.apps.worker"
    assert celery["level"] == "info" and str(celery["timestamp"]).endswith("Z")
    assert ours["event"] == "run.started" and ours["run_id"] == "r1" and "timestamp" in ours


def test_a_logger_with_its_own_handler_writes_through_the_root_once_routed(stream: io.StringIO) -> None:
    task_logger = logging.getLogger("celery.task.test")
    task_logger.addHandler(logging.StreamHandler(io.StringIO()))
    task_logger.propagate = False
    route_to_root(task_logger)
    task_logger.warning("Task failed")
    assert [event["event"] for event in _events(stream)] == ["Task failed"]


def test_each_event_is_one_write_with_its_newline(stream: _Writes) -> None:
    # Under PYTHONUNBUFFERED (the image sets it) every write reaches the shared log file at once:
    # a line written in two parts lets a pool process's line land between them, two events on one.
    get_logger("pipeline.feeds").warning("feed.retry", feed="ice", attempt=1)
    logging.getLogger("celery.worker.strategy").info("Task received")
    calls = stream.calls
    assert len(calls) == 2 and all(c.endswith("\n") and c.count("\n") == 1 for c in calls)
    assert [json.loads(c)["event"] for c in calls] == ["feed.retry", "Task received"]


def test_a_python_warning_is_a_log_event(stream: io.StringIO) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("running as root", UserWarning, stacklevel=1)
    (event,) = _events(stream)
    assert event["logger"] == "py.warnings" and "running as root" in str(event["event"])


def test_a_personal_key_is_not_echoed(stream: io.StringIO) -> None:
    get_logger("pipeline.feeds").info("feed.page", name="Maria")
    assert "Maria" not in stream.getvalue()


def test_a_worker_pool_process_that_died_is_a_json_event() -> None:
    """Celery gives the pool's logger ("multiprocessing") a plain-text handler of its own; once the
    worker's logging is set up, its lines are JSON events in the one stream too."""
    from celery.utils.log import get_multiprocessing_logger

    from workers.app import app

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    pool_logger = get_multiprocessing_logger()
    pool_saved = pool_logger.handlers[:], pool_logger.propagate
    out = io.StringIO()
    try:
        app.log.already_setup = False
        # what a worker does at start: Celery's handlers first, then its after_setup_logger signal
        app.log.setup_logging_subsystem(loglevel="INFO", colorize=False)
        assert pool_logger.propagate and pool_logger.handlers == []  # routed through the root
        configure_logging("INFO", json=True, stream=out)  # the signal's configuration, to a buffer
        pool_logger.error("Process %r pid:%r exited with %r", "ForkPoolWorker-2", 7, "signal 15 (SIGTERM)")
    finally:
        app.log.already_setup = False
        pool_logger.handlers[:], pool_logger.propagate = pool_saved
        root.handlers[:], level = saved
        root.setLevel(level)
        logging.captureWarnings(False)
    (event,) = _events(out)
    assert event["logger"] == "multiprocessing" and event["level"] == "error"
    assert "exited with" in str(event["event"])
