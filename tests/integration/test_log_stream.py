"""Processes sharing one unbuffered log file (a worker and its pool) each write whole lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# a parent and its forked child log at once, as Celery's main process and a pool process do
_TWO_WRITERS = """
import logging, os
from pipeline.logging import configure_logging, get_logger
configure_logging("INFO", json=True)
pid = os.fork()
ours, celery = get_logger("pipeline.feeds"), logging.getLogger("celery.worker.strategy")
for i in range({events}):
    ours.warning("feed.retry", feed="ice", attempt=i) if pid else celery.info("Task %s received", i)
if pid:
    os.waitpid(pid, 0)
"""


def test_two_processes_logging_to_one_unbuffered_file_write_only_whole_json_lines(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    with log.open("wb") as out:
        subprocess.run(
            [sys.executable, "-c", _TWO_WRITERS.format(events=5000)],
            env=env,
            stderr=out,
            check=True,
            timeout=120,
        )
    lines = log.read_text().splitlines()
    events = [json.loads(line) for line in lines]  # a line holding two events fails here
    assert len(events) == 10_000
    assert {e["event"] for e in events} >= {"feed.retry"}
