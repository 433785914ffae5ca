"""Prometheus metrics read from the store: scraped over real HTTP from a real ``reunify metrics
serve`` process after real runs against the simulator, on SQLite and PostgreSQL, and compared
with what the store and the export say."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
from personal_data import leaked, personal_values
from prometheus_client.parser import text_string_to_metric_families

from pipeline.errors import RunFailedError
from pipeline.metrics import make_metrics_server, render_metrics, stage_durations
from pipeline.results import COHORTS, STATUSES
from pipeline.run import run_embedded
from pipeline.settings import FEEDS, Settings, load_settings
from pipeline.sim.processes import process_env
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import World
from pipeline.store import RunInfo, StepInfo, Store

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "metrics-test-token-9f1c"
Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def parse(text: str) -> Samples:
    """Metric families as {sample name: {sorted labels: value}}."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: value for labels, value in samples.get(name, {}).items()}


def single(samples: Samples, name: str) -> float:
    values = samples[name]
    assert len(values) == 1, values
    return next(iter(values.values()))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_process(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(BIN / "reunify"), "metrics", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"metrics serve exited: {proc.stderr.read() if proc.stderr else b''!r}")
        try:
            requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("metrics serve did not answer within 30 s")


def test_metrics_scraped_after_a_good_and_a_failed_run_equal_what_the_store_and_export_say(
    simulator: FeedSimulator,
    small_world: World,
    make_settings: Callable[..., Settings],
    db_url: str,
    tmp_path: Path,
) -> None:
    settings = make_settings(simulator, db_url)
    store = Store(db_url)
    good = run_embedded(settings, store)
    # the second run fails: the removals feed refuses its token while the others are fetched
    bad_settings = make_settings(simulator, db_url, REUNIFY_REMOVALS_TOKEN="not-the-right-one")
    with pytest.raises(RunFailedError):
        run_embedded(bad_settings, store)
    failed = store.list_runs(limit=1)[0]
    assert failed.status == "failed" and failed.id != good

    port = free_port()
    empty_config = tmp_path / "empty.toml"  # the process reads no settings but these
    empty_config.write_text("")
    env = process_env(
        {
            "REUNIFY_DATABASE_URL": db_url,
            "REUNIFY_METRICS_TOKEN": TOKEN,
            "REUNIFY_SCHEDULE_CRON": "0 */4 * * *",
            "REUNIFY_CONFIG": str(empty_config),
        }
    )
    proc = serve_process(env, port)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
        answer = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert answer.status_code == 200, answer.text
    assert TOKEN.encode() not in err
    samples = parse(answer.text)

    exported = list(store.iter_results())
    published = store.get_run(good)
    assert published is not None and published.finished_at is not None
    assert single(samples, "reunify_store_up") == 1
    assert single(samples, "reunify_schedule_interval_seconds") == 4 * 3600
    assert by_label(samples, "reunify_last_success_timestamp_seconds", "trigger") == pytest.approx(
        {"cli": published.finished_at.timestamp()}
    )
    # children by status and cohort, unresolved locations and review: as the export counts them
    statuses = Counter(row["status"] for row in exported)
    cohorts = Counter(row["cohort"] for row in exported)
    assert by_label(samples, "reunify_children_by_status", "status") == {s: statuses[s] for s in STATUSES}
    assert by_label(samples, "reunify_children_by_cohort", "cohort") == {c: cohorts[c] for c in COHORTS}
    assert single(samples, "reunify_children") == len(exported) == len(small_world.truth)
    assert single(samples, "reunify_unresolved_parent_locations") == sum(
        not row["parent_location"]["resolved"] for row in exported
    )
    assert single(samples, "reunify_links_needing_review") == sum(
        bool(row["needs_review"]) for row in exported
    )
    assert samples["reunify_published_run_info"] == {(("as_of", "2018-07-12"), ("run_id", good)): 1}
    # the last run that ended is the failed one: outcome, timings, records per feed
    assert by_label(samples, "reunify_last_run_outcome", "outcome") == {
        "cancelled": 0,
        "failed": 1,
        "refused": 0,
        "succeeded": 0,
    }
    (labels,) = samples["reunify_last_run_info"]
    assert dict(labels) == {
        "run_id": failed.id,
        "trigger": "cli",
        "mode": "full",
        "outcome": "failed",
        "stage": failed.stage,
    }
    assert failed.finished_at is not None
    assert single(samples, "reunify_last_run_duration_seconds") == pytest.approx(
        (failed.finished_at - failed.started_at).total_seconds()
    )
    assert single(samples, "reunify_last_run_end_timestamp_seconds") == pytest.approx(
        failed.finished_at.timestamp()
    )
    # a failing feed fails the run at once: the other feeds recorded what they had by then, if anything
    assert "removals" not in failed.counts
    for kind in ("fetched", "valid", "quarantined"):
        assert by_label(samples, f"reunify_last_run_records_{kind}", "feed") == {
            feed: getattr(c, kind) for feed, c in failed.counts.items()
        }
    assert single(samples, "reunify_run_in_progress") == 0
    # no personal data in any label or help text
    assert len(personal_values(small_world)) > 1000
    assert leaked(small_world, answer.text) == []


def test_a_run_in_progress_shows_its_stage_age_and_how_long_it_has_been_quiet(tmp_path: Path) -> None:
    now = [datetime(2018, 7, 12, 12, 0, tzinfo=UTC)]
    store = Store(f"sqlite:///{tmp_path / 'p.sqlite3'}", clock=lambda: now[0])
    run_id = store.start_run("beat", date(2018, 7, 12), mode="incremental")
    store.record_feed_counts(run_id, "orr", 1200, 1190, 10)
    now[0] += timedelta(seconds=300)
    store.set_stage(run_id, "match")
    now[0] += timedelta(seconds=90)
    settings = load_settings({}, config_file=tmp_path / "none.toml")

    samples = parse(render_metrics(store, settings)[0].decode())

    assert single(samples, "reunify_run_in_progress") == 1
    stages = by_label(samples, "reunify_run_in_progress_stage", "stage")
    assert stages["match"] == 1 and sum(stages.values()) == 1
    assert single(samples, "reunify_run_in_progress_age_seconds") == 390
    assert single(samples, "reunify_run_in_progress_heartbeat_age_seconds") == 90
    assert by_label(samples, "reunify_run_in_progress_records_fetched", "feed") == {"orr": 1200}
    # nothing has ended or succeeded yet: those families are present and empty
    assert "reunify_last_run_outcome" not in samples
    assert "reunify_last_success_timestamp_seconds" not in samples


def test_a_store_that_cannot_be_read_gives_store_up_zero_rather_than_a_failed_scrape(tmp_path: Path) -> None:
    # a database without the schema: the exporter never migrates, so every query fails
    store = Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}", auto_upgrade=False)
    settings = load_settings({}, config_file=tmp_path / "none.toml")
    server = make_metrics_server(store, settings, port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        answer = requests.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5)
        other = requests.get(f"http://127.0.0.1:{server.server_port}/other", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 200
    samples = parse(answer.text)
    assert single(samples, "reunify_store_up") == 0
    assert "reunify_children_by_status" not in samples
    assert other.status_code == 404


def _step(name: str, done: datetime | None) -> StepInfo:
    return StepInfo("r", name, None, 1, None, None, 1, done)


def test_stage_durations_of_a_worker_run_run_from_the_previous_stage_end_to_its_last_step() -> None:
    t0 = datetime(2018, 7, 12, 12, 0, tzinfo=UTC)
    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    run = RunInfo("r", "beat", "failed", "match", date(2018, 7, 12), t0, at(100), None, at(100), "x", None)
    steps = [
        _step("fetch:orr", at(10)),
        _step("fetch:ice", at(30)),
        _step("prepare", at(45)),
        _step("match:0", at(60)),
        _step("match:1", None),  # the run failed in the match stage
    ]
    assert stage_durations(run, steps) == {"fetch": 30, "prepare": 15, "match": 55}
    assert stage_durations(run, []) == {}


@pytest.mark.parametrize("children", [100_000])
def test_a_scrape_at_100_000_children_reads_aggregates_only_and_stays_fast(
    children: int, db_url: str
) -> None:
    store = Store(db_url)
    run_id = store.start_run("cli", date(2018, 7, 12))
    rows = (
        {
            "child_record_ids": [f"ORR-{n:07d}"],
            "status": STATUSES[n % len(STATUSES)],
            "cohort": COHORTS[n % len(COHORTS)],
            "parent": None,
            "parent_location": {"state": "unknown", "resolved": n % 3 == 0},
            "needs_review": n % 7 == 0,
        }
        for n in range(children)
    )
    store.publish_results(run_id, rows)
    for feed in FEEDS:
        store.record_feed_counts(run_id, feed, children, children, 0)
    settings = load_settings({}, config_file=Path("/nonexistent/none.toml"))

    started = time.perf_counter()
    text = render_metrics(store, settings)[0].decode()
    seconds = time.perf_counter() - started

    samples = parse(text)
    assert single(samples, "reunify_children") == children
    assert by_label(samples, "reunify_children_by_status", "status")[STATUSES[0]] == len(
        range(0, children, len(STATUSES))
    )
    assert single(samples, "reunify_unresolved_parent_locations") == children - len(range(0, children, 3))
    assert single(samples, "reunify_links_needing_review") == len(range(0, children, 7))
    assert seconds < 2.0, f"a scrape took {seconds:.2f} s at {children:,} children"
