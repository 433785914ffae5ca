"""The stages of one reconciliation run: begin → fetch (per feed) → reconcile → publish.

Each stage is a plain function of ids, settings and the store, so the same code runs in-process
(embedded mode, ``run_embedded``) and inside thin Celery tasks (``workers.tasks``). Records
travel between stages through the store, never through the broker.

Through workers a run is a set of **steps** (``fetch:orr`` ... ``fetch:dna``, ``prepare``,
``match:0`` ... ``match:n-1``, ``finish``, ``publish``), each one message: the reconciliation is
split so that every worker takes matching partitions (``prepare_run``, ``match_partition``,
``finish_run``; the matching state goes between them through the store as ids and weights).
There is no chord: a worker takes a step's lease in the store, renews it (and the run's
heartbeat and lock) while it works, marks the step done, and the worker that finishes a stage's
last step advances the run with one atomic compare-and-set and sends the next stage
(``execute_step``, ``advance``). Every step is idempotent and checks the store first, so a
duplicate or late message is skipped. The watchdog (``watch_runs``, a beat task) re-sends a step
whose lease ran out because its worker died, and fails a run past its deadline with the reason:
a killed worker costs about ``stall_seconds`` plus a sweep, not Redis's visibility timeout.

One module each: ``stages`` (the vocabulary of stages and steps), ``leases`` (the run lock, step
leases, the heartbeat; beginning, failing and unlocking a run), ``fetch`` (the fetch stage and
reading a run's records back), ``publish`` (staging and publishing results), ``embedded`` (the
in-process runner), ``distributed`` (steps through workers), ``match_steps`` (the reconciliation
split into prepare, match per partition, finish), ``watchdog``, and ``follow`` (a run through
workers followed from another process, as ``reunify run`` does). The names callers use are
re-exported here: ``from pipeline.run import run_embedded``, ``from pipeline import run as stages``.
"""

from __future__ import annotations

from pipeline.run.distributed import SendFn, StepOutcome, advance, dispatch, execute_step, start_distributed
from pipeline.run.embedded import (
    INTERRUPTED_REASON,
    Interrupted,
    RunDeadlinePassed,
    reconcile_run,
    run_embedded,
)
from pipeline.run.fetch import PROGRESS_SECONDS, WRITE_BATCH, FetchedRecords, fetch_feed
from pipeline.run.follow import follow_run
from pipeline.run.leases import (
    RUN_LOCK,
    Heartbeat,
    StepAbandoned,
    begin_run,
    ended_reason,
    fail_run,
    new_run_id,
    stale_for,
    step_owner,
    unlock,
)
from pipeline.run.match_steps import finish_run, match_partition, prepare_run
from pipeline.run.publish import decisions_of, draw_quality_sample, publish_run, publish_step, stage_results
from pipeline.run.stages import (
    FETCH,
    FETCH_STEPS,
    FINISH,
    MATCH,
    NEXT_STAGE,
    PREPARE,
    PUBLISH,
    RECONCILE,
    fetch_step,
    match_step,
    no_progress,
    quiet,
    stage_of,
    stage_steps,
)
from pipeline.run.watchdog import WatchReport, pending_steps, watch_runs
from pipeline.settings import FEEDS
from pipeline.snapshot import FEED_ATTR, load_snapshot, read_feed
from pipeline.store import FeedCounts

__all__ = [
    "FEEDS",
    "FEED_ATTR",
    "FETCH",
    "FETCH_STEPS",
    "FINISH",
    "INTERRUPTED_REASON",
    "MATCH",
    "NEXT_STAGE",
    "PREPARE",
    "PROGRESS_SECONDS",
    "PUBLISH",
    "RECONCILE",
    "RUN_LOCK",
    "WRITE_BATCH",
    "FeedCounts",
    "FetchedRecords",
    "Heartbeat",
    "Interrupted",
    "RunDeadlinePassed",
    "SendFn",
    "StepAbandoned",
    "StepOutcome",
    "WatchReport",
    "advance",
    "begin_run",
    "decisions_of",
    "dispatch",
    "draw_quality_sample",
    "ended_reason",
    "execute_step",
    "fail_run",
    "fetch_feed",
    "fetch_step",
    "finish_run",
    "follow_run",
    "load_snapshot",
    "match_partition",
    "match_step",
    "new_run_id",
    "no_progress",
    "pending_steps",
    "prepare_run",
    "publish_run",
    "publish_step",
    "quiet",
    "read_feed",
    "reconcile_run",
    "run_embedded",
    "stage_of",
    "stage_results",
    "stage_steps",
    "stale_for",
    "start_distributed",
    "step_owner",
    "unlock",
    "watch_runs",
]
