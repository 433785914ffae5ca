"""Prometheus metrics read from the store at scrape time.

``StoreCollector`` turns what the store holds into metric families each time it is scraped: no
process keeps counters, so every worker, beat and CLI share one truth and a restarted exporter
loses nothing. A scrape costs a handful of small queries (the latest runs, the last success per
trigger, one GROUP BY over the published run's ``result_history``, the last run's steps), never a
pass over result payloads. Labels carry feed, status, cohort, stage, trigger, mode and run ids
only: never personal data.

``metrics_app`` is a WSGI app (``/metrics``, optional bearer token) that ``reunify metrics serve``
runs and that a web console can mount as it is; ``render_metrics`` gives the text alone.
"""

from __future__ import annotations

import hmac
import socketserver
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from pipeline.errors import ReunifyError
from pipeline.logging import get_logger
from pipeline.results import COHORTS, STATUSES
from pipeline.settings import FEEDS, Settings
from pipeline.store import RunInfo, StepInfo, Store
from pipeline.store.schema import RUN_OUTCOMES

log = get_logger(__name__)

# The stages a run goes through, in order: in-process fetch → reconcile → publish; through workers
# fetch → prepare → match → finish → publish.
STAGES: tuple[str, ...] = ("fetch", "reconcile", "prepare", "match", "finish", "publish")
WORKER_STAGES: tuple[str, ...] = ("fetch", "prepare", "match", "finish", "publish")
FEED_FIELDS: tuple[str, ...] = ("fetched", "valid", "quarantined")
# How many of the newest runs a scrape reads to find the last one that ended (at most one runs).
_RECENT_RUNS = 5

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def run_outcome(run: RunInfo) -> str:
    """The outcome label of a run that ended: its store status, or ``refused`` for a run that a
    publish gate stopped (``RunInfo.outcome``)."""
    return run.outcome


def _ts(value: datetime) -> float:
    return value.timestamp()


def stage_durations(run: RunInfo, steps: Iterable[StepInfo]) -> dict[str, float]:
    """Seconds spent in each stage of a run done by workers, derived from its steps.

    A stage starts when the previous one ended (the fetch stage when the run started) and ends when
    the last of its steps was done; a stage the run ended in before its steps were all done counts
    up to the run's end. Stages the run never reached are left out. An in-process run records no
    steps, so it has no stage durations (only its total duration).
    """
    done_at: dict[str, list[datetime]] = {}
    open_stages: set[str] = set()
    for step in steps:
        stage = step.step.split(":", 1)[0]
        done_at.setdefault(stage, [])
        if step.done_at is not None:
            done_at[stage].append(step.done_at)
        else:
            open_stages.add(stage)
    out: dict[str, float] = {}
    start = run.started_at
    for stage in WORKER_STAGES:
        if stage not in done_at:
            break
        if stage in open_stages or not done_at[stage]:
            end = run.finished_at or run.heartbeat_at
            out[stage] = max(0.0, (end - start).total_seconds())
            break
        end = max(done_at[stage])
        out[stage] = max(0.0, (end - start).total_seconds())
        start = end
    return out


class StoreCollector(Collector):
    """Collects Reunify's metrics from the store on every scrape (see the module docstring)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def describe(self) -> list[Metric]:
        # No description up front: the registry must not read the store when the collector is added.
        return []

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        interval = GaugeMetricFamily(
            "reunify_schedule_interval_seconds",
            "Longest gap between two scheduled runs (REUNIFY_SCHEDULE_CRON), for alerts relative to it.",
        )
        interval.add_metric([], self._settings.schedule.interval.total_seconds())
        up = GaugeMetricFamily("reunify_store_up", "1 when the store could be read for this scrape, else 0.")
        try:
            families = list(self._families())
        except ReunifyError as exc:
            # Say so in the metrics rather than fail the scrape: the alert on this is the clearest.
            log.warning("metrics.store_unreadable", error=str(exc))
            up.add_metric([], 0.0)
            yield from (up, interval)
            return
        up.add_metric([], 1.0)
        yield from (up, interval, *families)
        took = GaugeMetricFamily(
            "reunify_metrics_collect_seconds", "Seconds this scrape spent reading the store."
        )
        took.add_metric([], time.perf_counter() - started)
        yield took

    def _families(self) -> Iterator[Metric]:
        store = self._store
        now = store.now()
        recent = store.list_runs(limit=_RECENT_RUNS)
        yield self._last_success(store)
        ended = next((r for r in recent if r.status != "running"), None)
        yield from self._last_run(store, ended)
        yield from self._published(store)
        running = next((r for r in recent if r.status == "running"), None)
        yield from self._in_progress(running, now)

    @staticmethod
    def _last_success(store: Store) -> Metric:
        family = GaugeMetricFamily(
            "reunify_last_success_timestamp_seconds",
            "When the latest successful run of each trigger finished (unix seconds).",
            labels=["trigger"],
        )
        for trigger, finished in sorted(store.last_success_by_trigger().items()):
            family.add_metric([trigger], _ts(finished))
        return family

    @staticmethod
    def _last_run(store: Store, run: RunInfo | None) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "reunify_last_run_info",
            "The last run that ended: its id, trigger, mode, outcome and the stage it ended in (value 1).",
            labels=["run_id", "trigger", "mode", "outcome", "stage"],
        )
        outcome = GaugeMetricFamily(
            "reunify_last_run_outcome",
            "1 for the outcome of the last run that ended, 0 for the others.",
            labels=["outcome"],
        )
        started = GaugeMetricFamily(
            "reunify_last_run_start_timestamp_seconds", "When the last run that ended started (unix seconds)."
        )
        finished = GaugeMetricFamily(
            "reunify_last_run_end_timestamp_seconds", "When the last run that ended ended (unix seconds)."
        )
        duration = GaugeMetricFamily(
            "reunify_last_run_duration_seconds", "How long the last run that ended took, start to end."
        )
        stages = GaugeMetricFamily(
            "reunify_last_run_stage_duration_seconds",
            "Seconds per stage of the last run that ended, derived from its steps (runs through workers "
            "only: an in-process run records no steps).",
            labels=["stage"],
        )
        records = {
            kind: GaugeMetricFamily(
                f"reunify_last_run_records_{kind}",
                f"Records of each feed the last run that ended {kind}"
                + (" (after de-duplication)" if kind == "valid" else "")
                + ".",
                labels=["feed"],
            )
            for kind in FEED_FIELDS
        }
        if run is not None:
            result = run_outcome(run)
            info.add_metric([run.id, run.trigger, run.mode, result, run.stage or ""], 1.0)
            for name in sorted({*RUN_OUTCOMES, result}):
                outcome.add_metric([name], 1.0 if name == result else 0.0)
            end = run.finished_at or run.heartbeat_at
            started.add_metric([], _ts(run.started_at))
            finished.add_metric([], _ts(end))
            duration.add_metric([], max(0.0, (end - run.started_at).total_seconds()))
            for stage, seconds in stage_durations(run, store.list_steps(run.id)).items():
                stages.add_metric([stage], seconds)
            for feed in FEEDS:
                counts = run.counts.get(feed)
                if counts is None:
                    continue
                for kind in FEED_FIELDS:
                    records[kind].add_metric([feed], float(getattr(counts, kind)))
        yield from (info, outcome, started, finished, duration, stages, *records.values())

    @staticmethod
    def _published(store: Store) -> Iterator[Metric]:
        published = store.latest_succeeded_run()
        info = GaugeMetricFamily(
            "reunify_published_run_info",
            "The run whose results the export reads: its id and report date (value 1).",
            labels=["run_id", "as_of"],
        )
        children = GaugeMetricFamily("reunify_children", "Children in the published results.")
        by_status = GaugeMetricFamily(
            "reunify_children_by_status", "Children in the published results per status.", labels=["status"]
        )
        by_cohort = GaugeMetricFamily(
            "reunify_children_by_cohort", "Children in the published results per cohort.", labels=["cohort"]
        )
        unresolved = GaugeMetricFamily(
            "reunify_unresolved_parent_locations",
            "Children of the published results whose parent's location is not resolved.",
        )
        review = GaugeMetricFamily(
            "reunify_links_needing_review",
            "Children of the published results whose parent link needs a person's review.",
        )
        if published is not None:
            totals = store.result_totals(published.id)
            info.add_metric([published.id, published.as_of.isoformat()], 1.0)
            children.add_metric([], float(totals.children))
            for status in STATUSES:
                by_status.add_metric([status], float(totals.by_status.get(status, 0)))
            for cohort in COHORTS:
                by_cohort.add_metric([cohort], float(totals.by_cohort.get(cohort, 0)))
            unresolved.add_metric([], float(totals.unresolved))
            review.add_metric([], float(totals.needs_review))
        yield from (info, children, by_status, by_cohort, unresolved, review)

    @staticmethod
    def _in_progress(run: RunInfo | None, now: datetime) -> Iterator[Metric]:
        running = GaugeMetricFamily("reunify_run_in_progress", "1 while a run is in progress, else 0.")
        stage = GaugeMetricFamily(
            "reunify_run_in_progress_stage",
            "1 for the stage the run in progress is in, 0 for the others.",
            labels=["stage"],
        )
        age = GaugeMetricFamily(
            "reunify_run_in_progress_age_seconds", "Seconds since the run in progress started."
        )
        quiet = GaugeMetricFamily(
            "reunify_run_in_progress_heartbeat_age_seconds",
            "Seconds since the run in progress last showed progress (its heartbeat): high means stalled.",
        )
        fetched = GaugeMetricFamily(
            "reunify_run_in_progress_records_fetched",
            "Records fetched so far per feed by the run in progress.",
            labels=["feed"],
        )
        running.add_metric([], 0.0 if run is None else 1.0)
        if run is not None:
            current = run.stage or "fetch"
            for name in STAGES if current in STAGES else (*STAGES, current):
                stage.add_metric([name], 1.0 if name == current else 0.0)
            age.add_metric([], max(0.0, (now - run.started_at).total_seconds()))
            quiet.add_metric([], max(0.0, (now - run.heartbeat_at).total_seconds()))
            for feed, counts in sorted(run.counts.items()):
                fetched.add_metric([feed], float(counts.fetched))
        yield from (running, stage, age, quiet, fetched)


def metrics_registry(store: Store, settings: Settings) -> CollectorRegistry:
    """A registry holding only the store's metrics (no per-process collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, settings))
    return registry


def render_metrics(store: Store, settings: Settings) -> tuple[bytes, str]:
    """The metrics in Prometheus text format, and its content type."""
    return generate_latest(metrics_registry(store, settings)), CONTENT_TYPE_LATEST


def token_matches(header: str, token: str) -> bool:
    """True when an ``Authorization`` header carries exactly ``Bearer <token>`` (constant time)."""
    scheme, _, supplied = header.partition(" ")
    ok = hmac.compare_digest(supplied.strip().encode(), token.encode())
    return scheme.lower() == "bearer" and ok


def metrics_app(store: Store, settings: Settings, token: str | None = None) -> WSGIApp:
    """A WSGI app serving the metrics at ``/metrics``; with ``token``, only to ``Bearer <token>``."""
    inner = make_wsgi_app(metrics_registry(store, settings))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path.rstrip("/").rsplit("/", 1)[-1] != "metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found: the metrics are at /metrics\n"]
        if token is not None and not token_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response(
                "401 Unauthorized",
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("WWW-Authenticate", 'Bearer realm="reunify"'),
                ],
            )
            return [b"unauthorized: send Authorization: Bearer <REUNIFY_METRICS_TOKEN>\n"]
        return inner(environ, start_response)

    return app


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # One access line per scrape would drown the logs; headers (the token) are never logged.
        return


def make_metrics_server(
    store: Store, settings: Settings, host: str = "127.0.0.1", port: int = 9464, token: str | None = None
) -> WSGIServer:
    """A threaded HTTP server of ``metrics_app`` bound to ``host:port`` (port 0: a free one); call
    ``serve_forever()`` on it, ``shutdown()`` to stop."""
    return make_server(
        host,
        port,
        metrics_app(store, settings, token),
        server_class=_ThreadingServer,
        handler_class=_QuietHandler,
    )
