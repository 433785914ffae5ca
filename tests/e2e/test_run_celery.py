"""A whole run through real Celery worker processes on the local Redis, against the simulator."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from celery_harness import cluster, reunify

from pipeline.run import run_embedded
from pipeline.settings import load_settings
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.store import Store

SHUTDOWN_NOTICE = re.compile(r"worker: (Warm|Cold) shutdown \(MainProcess\)")


def _export(database_url: str) -> list[dict[str, Any]]:
    """The published run's export objects (what `reunify export` writes), without the run id."""
    with Store(database_url) as store:
        rows = list(store.iter_results())
    return sorted(({k: v for k, v in r.items() if k != "run_id"} for r in rows), key=json.dumps)


def test_a_run_through_celery_workers_equals_the_embedded_run(
    simulator: FeedSimulator, broker_url: str, tmp_path: Path
) -> None:
    simulator.set_faults(FaultConfig(rate=0.1, retry_after=0.05, seed=9))
    common = simulator.env() | {"REUNIFY_AS_OF": "2018-07-12", "REUNIFY_LOG_JSON": "true"}
    embedded = common | {"REUNIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}"}
    celery_env = common | {
        "REUNIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'celery.sqlite3'}",
        "REUNIFY_BROKER_URL": broker_url,
    }

    # the reference: the same run in-process (the CLI's embedded path is tests/e2e/test_cli.py's)
    settings = load_settings(embedded, config_file=tmp_path / "none.toml")
    with Store(settings.database_url) as store:
        run_embedded(settings, store)

    with cluster(celery_env, tmp_path, ("worker",), concurrency=2, beat=False):
        done = reunify(["run"], celery_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout

    assert _export(celery_env["REUNIFY_DATABASE_URL"]) == _export(embedded["REUNIFY_DATABASE_URL"])
    _assert_one_json_stream(tmp_path / "worker.log")


def _assert_one_json_stream(log: Path) -> None:
    """Every line of a worker's log is a JSON event with a timestamp, Celery's own included.

    Celery writes one line past logging, straight to stdout, when told to stop: that one is allowed.
    """
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    events = [json.loads(line) for line in lines if not SHUTDOWN_NOTICE.fullmatch(line)]
    assert events and all({"event", "timestamp", "level"} <= event.keys() for event in events)
    loggers = {event.get("logger", "") for event in events}
    assert any(name.startswith("celery") for name in loggers), loggers  # e.g. "celery@w1 ready."
    assert any(event["event"].startswith("run.") for event in events)  # and our own, in the same stream
