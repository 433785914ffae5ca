"""Starting a run, for the CLI (``reunify run``) and the console's buttons alike: through the
workers when a broker is configured (``REUNIFY_BROKER_URL``), else in this process; in the
console's process, in a background thread guarded by the run lock like any run.

Sending to the workers is the entrypoints' to hand in (``send``: ``workers.tasks.send_steps``),
so that starting a run depends on no task module.

What a run is (fetch or not, the acceptances of a real drop) is one ``RunRequest``; the trigger
says who asked: ``cli``, ``console`` (an admin's button), ``review`` (a run without fetching,
after review decisions).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.cancel import current_run
from pipeline.errors import ConfigError, ReunifyError, RunFailedError
from pipeline.gates import AcceptDrop, refused_feeds
from pipeline.logging import get_logger
from pipeline.no_fetch import REVIEW_TRIGGER as REVIEW_TRIGGER
from pipeline.progress import ProgressFn
from pipeline.run.distributed import SendFn, start_distributed
from pipeline.run.embedded import run_embedded
from pipeline.run.leases import new_run_id
from pipeline.run.stages import quiet
from pipeline.settings import Settings
from pipeline.store import RunInfo, Store

log = get_logger(__name__)

#: The trigger of a run an admin started from the console's runs page.
CONSOLE_TRIGGER = "console"
#: The modes an operator may start a run in (a run without fetching is ``RunRequest.review``).
MODES: tuple[str, ...] = ("full", "incremental")
# How long the console waits for a background run to be recorded (it takes the lock first).
_STARTED_WITHIN_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What to run: ``mode`` full or incremental, ``no_fetch`` to re-reconcile the stored feed
    state instead of fetching (trigger ``review`` then), operators' acceptances of a real drop."""

    trigger: str
    mode: str = "full"
    no_fetch: bool = False
    accept: Sequence[AcceptDrop] = field(default_factory=tuple)

    @classmethod
    def review(cls) -> RunRequest:
        """A run without fetching, so that review decisions take effect at once."""
        return cls(REVIEW_TRIGGER, "full", no_fetch=True)


def through_workers(settings: Settings) -> bool:
    """True when runs go through Celery workers (a broker is configured), as `reunify run` chooses."""
    return bool(settings.broker_url)


def send_to_workers(settings: Settings, store: Store, req: RunRequest, send: SendFn | None) -> str:
    """Begin the run and hand its first steps to the workers through ``send``; its id (they do the
    rest). ConfigError when this process was given no way to reach them."""
    if send is None:
        raise ConfigError(
            "REUNIFY_BROKER_URL is set but this process cannot send to the workers: "
            "start the console with `reunify web`, which hands it the workers' queue"
        )
    return start_distributed(store, settings, req.trigger, send, req.mode, req.accept, req.no_fetch)


def run_here(settings: Settings, store: Store, req: RunRequest, progress: ProgressFn | None = None) -> str:
    """The whole run in this process, to its end (RunFailedError and kin when it did not publish)."""
    return run_embedded(
        settings,
        store,
        req.trigger,
        progress or quiet,
        mode=req.mode,
        accept=req.accept,
        no_fetch=req.no_fetch,
    )


def start_in_background(settings: Settings, store: Store, req: RunRequest, send: SendFn | None = None) -> str:
    """Start the run and return its id once it is recorded, without waiting for its end: through
    the workers (``send``), or in a daemon thread of this process (the console's).
    RunInProgressError when another run holds the lock; RunFailedError when it could not start."""
    if through_workers(settings):
        return send_to_workers(settings, store, req, send)
    run_id = new_run_id()
    failed: list[BaseException] = []

    def body() -> None:
        try:
            run_embedded(
                settings,
                store,
                req.trigger,
                mode=req.mode,
                accept=req.accept,
                run_id=run_id,
                no_fetch=req.no_fetch,
            )
        except ReunifyError as exc:  # recorded on the run (or, before it began, handed back below)
            failed.append(exc)
            log.warning("console_run.ended", run_id=run_id, error=str(exc))
        except BaseException as exc:  # a background thread has nobody else to tell
            failed.append(exc)
            log.exception("console_run.crashed", run_id=run_id)

    thread = threading.Thread(target=body, name=f"run-{run_id[:8]}", daemon=True)
    thread.start()
    ends = time.monotonic() + _STARTED_WITHIN_SECONDS
    while time.monotonic() < ends:
        if store.get_run(run_id) is not None:
            return run_id
        if failed:  # refused before it began: another run holds the lock, no good run to copy
            raise failed[0]
        if not thread.is_alive():
            break
        time.sleep(0.02)
    if failed:
        raise failed[0]
    if store.get_run(run_id) is not None:
        return run_id
    raise RunFailedError(f"run {run_id} did not start within {_STARTED_WITHIN_SECONDS:g} s")


@dataclass(frozen=True, slots=True)
class RunActions:
    """What the runs page offers an admin: the run to cancel, the refused run to accept."""

    running: RunInfo | None
    refused: RunInfo | None
    refused_feeds: list[str]
    modes: tuple[str, ...] = MODES


def run_actions(store: Store) -> RunActions:
    """The run in progress (to cancel) and the latest run if the publish gates refused it."""
    latest = next(iter(store.list_runs(limit=1)), None)
    refused = latest if latest is not None and latest.outcome == "refused" else None
    feeds = refused_feeds(store.list_gate_checks(refused.id)) if refused else []
    return RunActions(current_run(store), refused, feeds)
