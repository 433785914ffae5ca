"""The operators' webhook (``REUNIFY_NOTIFY_URL``): a JSON POST when a run fails, when the publish
gates refuse a run, or when a scheduled tick is skipped.

The body holds no personal data: the event kind, the run's id, trigger, mode, stage and outcome,
the error as recorded (scrubbed once more of anything shaped like an A-number or a date), the
record counts per feed, and for a refused run the gates that refused or were accepted, with
their numbers. Delivery is retried briefly (tenacity); a notification that still fails is logged
without the URL's path, query or credentials (a webhook URL often is the secret) and never fails
the run or the tick that sent it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from pipeline.gates import PASSED
from pipeline.logging import get_logger
from pipeline.settings import Settings
from pipeline.store import RunInfo, Store

log = get_logger(__name__)

RUN_FAILED = "run_failed"
TICK_SKIPPED = "tick_skipped"
# A run the publish gates (pipeline/gates.py) stopped before publishing.
RUN_REFUSED = "run_refused"
EVENTS: tuple[str, ...] = (RUN_FAILED, TICK_SKIPPED, RUN_REFUSED)

ATTEMPTS = 3
ERROR_LIMIT = 2000
# Anything shaped like an A-number (A-216-707-355, A216707355, 216707355) or a date (2012-05-19,
# 05/19/2012): recorded errors are built from ids and counts, this is the second line of defence.
_PERSONAL = re.compile(
    r"\b(?:A[- ]?)?\d{3}[- ]?\d{3}[- ]?\d{3}\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{4}\b",
    re.IGNORECASE,
)


class _Retryable(Exception):
    """The receiver answered 429 or 5xx: try again."""


def scrub(text: str | None) -> str | None:
    """An error text fit for the webhook: A-number and date shapes masked, bounded in length."""
    if text is None:
        return None
    return _PERSONAL.sub("[redacted]", text)[:ERROR_LIMIT]


def safe_target(url: str) -> str:
    """The URL as it may be logged: scheme, host and port only."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def run_payload(event: str, run: RunInfo, **extra: Any) -> dict[str, Any]:
    """The webhook body for an event about one run."""
    body: dict[str, Any] = {
        "event": event,
        "run_id": run.id,
        "trigger": run.trigger,
        "mode": run.mode,
        "status": run.status,
        "outcome": run.outcome,
        "stage": run.stage,
        "as_of": run.as_of.isoformat(),
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": scrub(run.error),
        "counts": {
            feed: {"fetched": c.fetched, "valid": c.valid, "quarantined": c.quarantined}
            for feed, c in sorted(run.counts.items())
        },
    }
    body.update(extra)
    return body


def post(settings: Settings, body: dict[str, Any]) -> bool:
    """POST ``body`` as JSON to ``REUNIFY_NOTIFY_URL``; True when delivered. Never raises."""
    url = settings.notify_url
    if not url:
        return False
    event = body.get("event")
    try:
        for attempt in Retrying(
            stop=stop_after_attempt(ATTEMPTS),
            wait=wait_exponential(multiplier=0.25, max=2),
            retry=retry_if_exception_type((requests.RequestException, _Retryable)),
            reraise=True,
        ):
            with attempt:
                response = requests.post(url, json=body, timeout=settings.notify_timeout)
                if response.status_code == 429 or response.status_code >= 500:
                    raise _Retryable(f"HTTP {response.status_code}")
                if response.status_code >= 400:
                    log.warning(
                        "notify.refused",
                        notify_event=event,
                        target=safe_target(url),
                        http_status=response.status_code,
                    )
                    return False
        log.info("notify.sent", notify_event=event, target=safe_target(url))
        return True
    except Exception as exc:
        # the exception's text may quote the URL (requests does): name only its type
        detail = str(exc) if isinstance(exc, _Retryable) else type(exc).__name__
        log.warning(
            "notify.failed", notify_event=event, target=safe_target(url), attempts=ATTEMPTS, error=detail
        )
        return False


def notify_run(settings: Settings | None, store: Store, run_id: str, event: str = RUN_FAILED) -> bool:
    """Tell the webhook about an event of a run (``run_failed``, ``run_refused``); never raises."""
    if settings is None or not settings.notify_url:
        return False
    try:
        run = store.get_run(run_id)
    except Exception as exc:
        log.warning("notify.run_unreadable", run_id=run_id, error=type(exc).__name__)
        return False
    if run is None:
        return False
    extra: dict[str, Any] = {}
    if event == RUN_REFUSED:
        try:
            checks = store.list_gate_checks(run_id)
        except Exception as exc:
            log.warning("notify.gates_unreadable", run_id=run_id, error=type(exc).__name__)
            checks = []
        extra["gates"] = [
            {
                "gate": c.gate,
                "feed": c.feed,
                "outcome": c.outcome,
                "measured": c.measured,
                "threshold": c.threshold,
                "observed": c.observed,
                "reference": c.reference,
            }
            for c in checks
            if c.outcome != PASSED
        ]
    return post(settings, run_payload(event, run, **extra))


def notify_tick_skipped(
    settings: Settings, store: Store, reason: str, running_id: str | None, at: datetime | None = None
) -> bool:
    """Tell the webhook a scheduled tick did not start a run because ``running_id`` is in progress."""
    if not settings.notify_url:
        return False
    run: RunInfo | None = None
    if running_id is not None:
        try:
            run = store.get_run(running_id)
        except Exception as exc:
            log.warning("notify.run_unreadable", run_id=running_id, error=type(exc).__name__)
    extra = {"reason": scrub(reason), "skipped_trigger": "beat"}
    if at is not None:
        extra["at"] = at.isoformat()
    if run is not None:
        return post(settings, run_payload(TICK_SKIPPED, run, **extra))
    body: dict[str, Any] = {"event": TICK_SKIPPED, "run_id": running_id, "trigger": "beat", **extra}
    return post(settings, body)
