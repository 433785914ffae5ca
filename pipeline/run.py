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
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from pipeline import feeds, gates, jsontext, notify
from pipeline.dates import screen
from pipeline.errors import PublishRefused, ReunifyError, RunCancelled, RunFailedError, RunInProgressError
from pipeline.feeds.validate import ValidRecord, validate_page
from pipeline.incremental import complete_fetch, plan_fetch
from pipeline.logging import bound, get_logger
from pipeline.match import state
from pipeline.match.adults import Person
from pipeline.match.blocking import DnaIndex
from pipeline.match.link import FirstLink, Linker
from pipeline.match.partition import Partition
from pipeline.match.views import ChildView
from pipeline.no_fetch import copy_feed_state
from pipeline.no_fetch import source_run as no_fetch_source
from pipeline.parse import PARSERS
from pipeline.progress import ProgressFn
from pipeline.reconcile import finish, link_partition, no_gc_pauses, prepare, reconcile
from pipeline.records import FeedSnapshot, keep_latest
from pipeline.results import ChildResult, ReviewDecision
from pipeline.settings import FEEDS, Settings
from pipeline.snapshot import FEED_ATTR, load_snapshot, read_feed
from pipeline.store import FeedCounts, RunInfo, StepInfo, Store

log = get_logger(__name__)
T = TypeVar("T")

RUN_LOCK = "reunify-run"

# An in-process run reconciles in one stage; through workers the reconciliation is three stages:
# prepare (global), match (one step per partition, any worker), finish (global).
FETCH, RECONCILE, PUBLISH = "fetch", "reconcile", "publish"
PREPARE, MATCH, FINISH = "prepare", "match", "finish"
# How often a fetch records its counts and the run's heartbeat in the store.
PROGRESS_SECONDS = 1.0
# Valid records a fetch gathers before writing them in one transaction.
WRITE_BATCH = 5000


def fetch_step(feed: str) -> str:
    """The step name of one feed's fetch (``fetch:orr``)."""
    return f"{FETCH}:{feed}"


def match_step(number: int) -> str:
    """The step name of one matching partition (``match:0``)."""
    return f"{MATCH}:{number}"


FETCH_STEPS: tuple[str, ...] = tuple(fetch_step(feed) for feed in FEEDS)
# the stages of a run through workers, in order
NEXT_STAGE: dict[str, str] = {FETCH: PREPARE, PREPARE: MATCH, MATCH: FINISH, FINISH: PUBLISH}


def stage_steps(stage: str, partitions: int) -> tuple[str, ...]:
    """The steps of one stage of a run whose matching has ``partitions`` partitions."""
    if stage == FETCH:
        return FETCH_STEPS
    if stage == MATCH:
        return tuple(match_step(n) for n in range(partitions))
    return (stage,)


# Sends the messages of some steps of a run to the workers (workers.tasks.send_steps).
SendFn = Callable[[str, Sequence[str]], None]


class StepAbandoned(ReunifyError):
    """This worker must stop its step without failing the run: the run ended, or the step's lease
    was lost and another worker took it over."""


def ended_reason(store: Store, run_id: str) -> str:
    """Why work on a run must stop: it ended (how), or is gone; for StepAbandoned."""
    run = store.get_run(run_id)
    if run is None:
        return "the run is no longer in the store"
    if run.cancelled:
        return "the run was cancelled"
    return f"the run is no longer running (it {run.outcome})"


def step_owner() -> str:
    """A unique name for one execution of a step: host, process id, random part (``status`` shows it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def stage_of(step: str) -> str:
    """The stage a step belongs to (``fetch:orr`` → ``fetch``)."""
    return step.split(":", 1)[0]


class Heartbeat:
    """While the block runs, a thread renews every ``heartbeat_seconds`` the run's heartbeat and
    lock and, for a step, its lease. ``check()`` raises StepAbandoned once the run has ended or
    the lease was taken over; callers check between units of work."""

    def __init__(
        self, store: Store, settings: Settings, run_id: str, step: str | None = None, owner: str | None = None
    ) -> None:
        self._store, self._settings = store, settings
        self.run_id, self.step, self.owner = run_id, step, owner
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id[:8]}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self._settings.heartbeat_seconds + 5)

    def beat(self) -> None:
        """Renew once; note why the work must stop, if it must."""
        step, owner, ttl = self.step, self.owner, self._settings.stall_seconds
        if (
            step is not None
            and owner is not None
            and not self._store.refresh_step(self.run_id, step, owner, ttl)
        ):
            self.lost = f"step {step} was taken over by another worker"
        if not self._store.heartbeat(self.run_id):
            self.lost = ended_reason(self._store, self.run_id)
        else:
            self._store.refresh_lock(RUN_LOCK, self.run_id, self._settings.run_lock_seconds)

    def check(self) -> None:
        """Raise StepAbandoned if the work must stop."""
        if self.lost:
            raise StepAbandoned(self.lost)

    def abandon(self, reason: str) -> None:
        """Make every later ``check()`` raise: the threads still working stop at their next page."""
        self.lost = self.lost or reason

    def _loop(self) -> None:
        with bound(run_id=self.run_id, step=self.step):
            while not self._stop.wait(self._settings.heartbeat_seconds):
                try:
                    self.beat()
                except ReunifyError as exc:  # the store is unreachable: keep trying, the lease may hold
                    log.warning("heartbeat.failed", error=str(exc))


def _noop(_stage: str, _feed: str | None, _counts: Mapping[str, int] | None) -> None:
    return None


quiet: ProgressFn = _noop  # the progress of a run nobody watches


class FetchedRecords:
    """The typed records one fetch stored, kept in memory so that an in-process run need not
    read and parse them back: the latest copy of each record id (the store's rule, the later
    copy on a tie), in record id order (the store's order). Once the fetch has ended they are the
    feed's whole current state (after an incremental fetch, read back with the records carried
    forward)."""

    def __init__(self) -> None:
        self._by_id: dict[str, tuple[str, Any]] = {}

    def add(self, valid: Sequence[ValidRecord], records: Sequence[Any]) -> None:
        """Keep the typed ``records`` of the stored ``valid`` ones (same order)."""
        pairs = zip(valid, records, strict=True)
        keep_latest(((v.record_id, v.updated_at, record) for v, record in pairs), self._by_id)

    def replace(self, records: Iterable[Any]) -> None:
        """Hold exactly ``records`` (a feed's whole current state, read back from the store)."""
        self._by_id = {record.record_id: ("", record) for record in records}

    def records(self) -> list[Any]:
        """The kept records, in record id order."""
        by_id = self._by_id
        return [by_id[rid][1] for rid in sorted(by_id)]


def new_run_id() -> str:
    """A fresh run id."""
    return uuid.uuid4().hex


def begin_run(
    store: Store,
    settings: Settings,
    trigger: str,
    run_id: str | None = None,
    mode: str = "full",
    accept: Sequence[gates.AcceptDrop] = (),
) -> str:
    """Take the run lock and record a new run; RunInProgressError if another run holds the lock.

    A lock left behind by a run that already ended (its worker died between publishing and
    releasing) is taken over, and so is the lock of an in-process run whose heartbeat stopped for
    ``stall_seconds`` (its process was killed: it is failed saying so, see ``stale_for``); a run
    still marked running whose lock expired is failed, so that at most one run is ever running.
    ``accept``: operators' acceptances of a real drop, stored on the run now so that whichever
    process runs its publish step sees them.
    """
    settings.require_feeds()
    gates.check_acceptances(accept)
    run_id = run_id or new_run_id()
    acquired = store.acquire_lock(RUN_LOCK, run_id, settings.run_lock_seconds)
    if not acquired:
        holder = store.lock_holder(RUN_LOCK)
        other = store.get_run(holder.owner) if holder else None
        if holder is not None and (other is None or other.status != "running"):
            store.release_lock(RUN_LOCK, holder.owner)
            acquired = store.acquire_lock(RUN_LOCK, run_id, settings.run_lock_seconds)
        elif holder is not None and other is not None and (quiet := stale_for(store, other, settings)):
            # an in-process run whose process died (kill -9, OOM, a lost host) beats no more: fail
            # it, only if it is still that quiet (a live one beat meanwhile), and take its lock
            reason = (
                f"its process stopped: no heartbeat for {quiet:.0f} s (REUNIFY_STALL_SECONDS "
                f"{settings.stall_seconds:g} s); lock taken over by run {run_id}"
            )
            if store.fail_quiet_run(other.id, timedelta(seconds=settings.stall_seconds), reason):
                log.warning("run.taken_over", stale_run=other.id, quiet_seconds=round(quiet, 1))
                store.release_lock(RUN_LOCK, other.id)
                acquired = store.acquire_lock(RUN_LOCK, run_id, settings.run_lock_seconds)
    if not acquired:
        holder = store.lock_holder(RUN_LOCK)
        other_id = holder[0] if holder else "another run"
        raise RunInProgressError(
            f"run {other_id} is in progress; wait for it to finish (`reunify status`) or retry later"
        )
    for stale in store.running_runs():
        if stale.id != run_id:
            fail_run(
                stale.id, store, f"superseded by run {run_id}: its lock expired without progress", settings
            )
    deadline = store.now() + timedelta(seconds=settings.run_deadline_seconds)
    store.start_run(
        trigger,
        settings.as_of,
        run_id,
        deadline=deadline,
        mode=mode,
        partitions=settings.match_partitions,
        acceptances=[(a.feed, a.who, a.why) for a in accept],
    )
    log.info("run.started", run_id=run_id, trigger=trigger, mode=mode, accepted=[a.feed for a in accept])
    return run_id


def stale_for(store: Store, run: RunInfo, settings: Settings) -> float | None:
    """Seconds since a running in-process run last beat its heartbeat, when that is more than
    ``stall_seconds`` (its process is gone); None when it may be alive.

    A run through workers never counts as stale here: its heartbeat is renewed only while a
    worker holds one of its steps, so between steps (queued, or re-sent after a lost worker) it
    is quiet yet alive; the watchdog (``watch_runs``) recovers or fails it.
    """
    if run.status != "running" or store.list_steps(run.id):
        return None
    quiet = (store.now() - run.heartbeat_at).total_seconds()
    return quiet if quiet >= settings.stall_seconds else None


def unlock(store: Store, settings: Settings, force: bool = False) -> str:
    """Free the run lock for an operator (``reunify unlock``); what was done, in one sentence.

    A lock held by an ended run, or by an in-process run that stopped beating its heartbeat for
    ``stall_seconds``, is freed (the dead run is failed with the reason). A holder that may be
    alive is left alone (RunInProgressError) unless ``force``: then it is failed, and its
    threads or workers stop at their next check, writing nothing more.
    """
    holder = store.lock_holder(RUN_LOCK)
    if holder is None:
        return "the run lock is free: nothing to do"
    run = store.get_run(holder.owner)
    if run is None or run.status != "running":
        store.release_lock(RUN_LOCK, holder.owner)
        ended = "is not in the store" if run is None else f"had {run.status}"
        return f"freed the run lock left by run {holder.owner}, which {ended}"
    quiet = stale_for(store, run, settings)
    age = (store.now() - run.heartbeat_at).total_seconds()
    if quiet is not None:
        reason = (
            f"its process stopped: no heartbeat for {quiet:.0f} s; unlocked by an operator (`reunify unlock`)"
        )
        if not store.fail_quiet_run(run.id, timedelta(seconds=settings.stall_seconds), reason):
            raise RunInProgressError(f"run {run.id} beat its heartbeat just now: it is alive; not unlocked")
    elif not force:
        through = "workers" if store.list_steps(run.id) else "an in-process run"
        raise RunInProgressError(
            f"run {run.id} ({through}, stage {run.stage or FETCH}) looks alive: last heartbeat "
            f"{age:.0f} s ago "
            f"(REUNIFY_STALL_SECONDS {settings.stall_seconds:g} s); not unlocked. If you are sure its "
            "process is gone, `reunify unlock --force` fails it and frees the lock"
        )
    else:
        reason = f"failed by an operator (`reunify unlock --force`); last heartbeat {age:.0f} s before"
        store.fail_run(run.id, reason)
    store.release_lock(RUN_LOCK, run.id)
    log.warning("run.unlocked", run_id=run.id, forced=force and quiet is None)
    why = "forced" if quiet is None else f"no heartbeat for {quiet:.0f} s"
    return f"failed run {run.id} ({why}) and freed the run lock"


def fetch_feed(
    run_id: str,
    feed: str,
    settings: Settings,
    store: Store,
    progress: ProgressFn = _noop,
    check: Callable[[], None] | None = None,
    keep: FetchedRecords | None = None,
) -> FeedCounts:
    """Pull one feed into the store under this run; idempotent (a retry starts the feed afresh).

    ``check`` is called before each page is written (``Heartbeat.check``); StepAbandoned stops
    the fetch when the run is no longer running. ``keep`` receives the typed records stored.
    """
    with bound(run_id=run_id, feed=feed):
        store.clear_feed(run_id, feed)
        if keep is not None:
            keep.replace(())  # afresh, as in the store
        if settings.feed(feed) is None:
            log.info("feed.not_configured")
            store.record_feed_counts(run_id, feed, 0, 0, 0)
            return FeedCounts(0, 0, 0)
        started = time.monotonic()
        fetched = quarantined = future = 0
        plan = plan_fetch(store, run_id, feed, settings.clock_skew_seconds)
        future_after = plan.future_after or ""
        noted = 0.0
        # pages are small (hundreds of records); the store writes best in thousands per commit
        pending: list[ValidRecord] = []

        def checked() -> None:
            if check is not None:
                check()

        for page in feeds.fetch_feed(feed, settings, since=plan.since):
            checked()
            typed: list[Any] = []
            valid, bad = validate_page(feed, page, typed)
            if future_after:
                future += sum(v.updated_at > future_after for v in valid)
            if keep is not None:
                keep.add(valid, typed)
            pending.extend(valid)
            if len(pending) >= WRITE_BATCH:
                checked()  # a page can take long to arrive: the run may have ended meanwhile
                store.add_feed_records(run_id, feed, pending)
                pending = []
            if bad:
                checked()
                store.add_quarantine(run_id, feed, bad)
            fetched += len(page)
            quarantined += len(bad)
            # the counts `reunify status` shows, and a sign of life, at most once a second: a
            # commit per page for each would cost more than writing the pages themselves
            if time.monotonic() - noted >= PROGRESS_SECONDS:
                noted = time.monotonic()
                if not store.record_feed_counts(run_id, feed, fetched, fetched - quarantined, quarantined):
                    raise StepAbandoned("the run is no longer running")
                store.heartbeat(run_id)
            progress("fetch", feed, {"fetched": fetched, "quarantined": quarantined})
        checked()  # the last page may have come after the run ended (its deadline, a takeover)
        if pending:
            store.add_feed_records(run_id, feed, pending)
        carried = complete_fetch(store, run_id, feed, plan)
        if keep is not None and plan.incremental:
            # the feed's whole current state is the fetched records and those carried forward:
            # read it back here, while the other feeds' fetches still wait on the network,
            # rather than after every fetch has ended
            keep.replace(read_feed(run_id, feed, store))
        counts = FeedCounts(fetched, store.count_feed_records(run_id, feed), quarantined)
        store.record_feed_counts(run_id, feed, counts.fetched, counts.valid, counts.quarantined)
        if future:
            log.warning(
                "feed.future_dated",
                records=future,
                hint="updated after this run started (beyond REUNIFY_CLOCK_SKEW_SECONDS): kept, but "
                "never the feed's high-water mark; `reunify discrepancies` lists them",
            )
        log.info(
            "feed.fetched",
            seconds=round(time.monotonic() - started, 2),
            incremental=plan.incremental,
            carried_forward=carried,
            **counts.as_dict(),
        )
        progress("fetched", feed, counts.as_dict())
        return counts


def _decisions(store: Store) -> list[ReviewDecision]:
    return [
        ReviewDecision(
            d.child_key, d.adult_key, d.decision, who=d.who, decided_on=d.decided_at.date(), why=d.why
        )
        for d in store.list_decisions()
    ]


def _stage_results(run_id: str, store: Store, results: Sequence[ChildResult]) -> int:
    count = store.save_results(run_id, (r.to_export(run_id) for r in results))
    store.save_candidates(
        run_id, {r.child_key: [c.to_export() for c in r.candidates] for r in results if r.candidates}
    )
    return count


def reconcile_run(
    run_id: str,
    store: Store,
    progress: ProgressFn = _noop,
    check: Callable[[], None] | None = None,
    snapshot: FeedSnapshot | None = None,
) -> int:
    """Match and classify over the run's records, in this process, and stage the results (not
    yet published); the run's partitions run one after the other.

    ``snapshot`` is the run's records when the caller holds them already (an in-process run
    keeps every feed's current state from its fetches); otherwise they are read from the store.
    """
    with bound(run_id=run_id, stage="reconcile"), no_gc_pauses():
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} is not in the store")
        store.set_stage(run_id, "reconcile")
        progress("reconcile", None, None)
        started = time.monotonic()
        if snapshot is None:
            snapshot = load_snapshot(run_id, store)
        loaded = time.monotonic()

        def linked(number: int, partitions: int, done: int, children: int) -> None:
            if check is not None:
                check()  # a cancelled or failed run stops between slices of its linking
            progress(
                "reconcile",
                None,
                {"partition": number, "partitions": partitions, "linked": done, "children": children},
            )

        results = reconcile(snapshot, run.as_of, _decisions(store), run.partitions, linked)
        matched = time.monotonic()
        if check is not None:
            check()
        count = _stage_results(run_id, store, results)
        log.info(
            "reconcile.done",
            children=count,
            partitions=run.partitions,
            load_seconds=round(loaded - started, 2),
            match_seconds=round(matched - loaded, 2),
            write_seconds=round(time.monotonic() - matched, 2),
        )
        return count


# -- the reconciliation through workers: prepare, match (per partition), finish ------------------


def _parsed(store: Store, run_id: str, feed: str, record_ids: Iterable[str], as_of: date) -> dict[str, Any]:
    """Some records of a run's feed, parsed and screened at the run's report date (as
    ``reconcile.prepare`` screens them for the in-process run and the prepare step), by record id."""
    parse = PARSERS[feed]
    return {
        rid: screen(parse(jsontext.loads(text)), as_of)
        for rid, text in store.get_feed_payloads(run_id, feed, record_ids).items()
    }


def _all_parsed(store: Store, run_id: str, feed: str, as_of: date) -> dict[str, Any]:
    parse = PARSERS[feed]
    out: dict[str, Any] = {}
    for text in store.iter_feed_payloads(run_id, feed):
        record = screen(parse(jsontext.loads(text)), as_of)
        out[record.record_id] = record
    return out


def prepare_run(
    run_id: str, store: Store, check: Callable[[], None] | None = None, progress: ProgressFn = _noop
) -> dict[str, int]:
    """The global part of a run's reconciliation: read every record, group the children, recognise
    the people, estimate the model and plan the partitions; hand them on through the store (ids
    and weights only). Returns its counts: children, people, partitions."""
    with bound(run_id=run_id, stage=PREPARE), no_gc_pauses():
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} is not in the store")
        started = time.monotonic()
        # the match steps read records by id: the planner must know the freshly loaded table
        store.refresh_statistics()
        decisions = _decisions(store)
        prep = prepare(load_snapshot(run_id, store), decisions, run.partitions, run.as_of)
        if check is not None:
            check()
        dna = prep.dna_index
        store.put_artifact(
            run_id,
            "model",
            jsontext.dumps(
                {
                    "n_people": len(prep.people),
                    "model": state.model_to_json(prep.model),
                    "rejected": sorted(prep.rejected),
                    "confirmed": prep.confirmed,
                    "decisions": [state.decision_to_json(d) for d in decisions],
                }
            ),
        )
        for part in prep.partitions:
            cviews = [prep.cviews[i] for i in part.children]
            store.put_artifact(
                run_id,
                f"part:{part.number}",
                jsontext.dumps(
                    {
                        "children": part.children,
                        "groups": [state.group_to_json(c.group) for c in cviews],
                        "people": [state.person_to_json(prep.people[pid]) for pid in part.people],
                        "oversized": part.oversized,
                        "dna": sorted({res.record_id for c in cviews for res in dna.for_child(c)}),
                    }
                ),
            )
        store.put_artifact(
            run_id,
            "whole",
            jsontext.dumps(
                {
                    "groups": [state.group_to_json(g) for g in prep.groups],
                    "people": [state.person_to_json(p) for p in prep.people],
                    "partitions": len(prep.partitions),
                }
            ),
        )
        log.info(
            "prepare.done",
            children=len(prep.groups),
            people=len(prep.people),
            partitions=[len(p.children) for p in prep.partitions],
            seconds=round(time.monotonic() - started, 2),
        )
        counts = {
            "children": len(prep.groups),
            "people": len(prep.people),
            "partitions": len(prep.partitions),
        }
        progress(PREPARE, None, counts)
        return counts


def _linker(head: dict[str, Any], people: dict[int, Person]) -> Linker:
    return Linker(
        people,
        int(head["n_people"]),
        state.model_from_json(head["model"]),
        {(str(key), int(pid)) for key, pid in head["rejected"]},
        {str(key): int(pid) for key, pid in head["confirmed"].items()},
    )


def match_partition(
    run_id: str,
    number: int,
    store: Store,
    check: Callable[[], None] | None = None,
    progress: ProgressFn = _noop,
) -> dict[str, int]:
    """The first linking pass over one partition: read its children and the people they can meet
    from the store, link them, write the links back. Reports partition i of n and the children
    linked so far; returns its counts (partition from 1, partitions, children, linked, people)."""
    with bound(run_id=run_id, step=match_step(number)), no_gc_pauses():
        started = time.monotonic()
        head = jsontext.loads(store.get_artifact(run_id, "model"))
        part = jsontext.loads(store.get_artifact(run_id, f"part:{number}"))
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} is not in the store")
        as_of = run.as_of
        orr = _parsed(store, run_id, "orr", (rid for ids in part["groups"] for rid in ids), as_of)
        ice = _parsed(store, run_id, "ice", (rid for p in part["people"] for rid in p[1]), as_of)
        removals = _parsed(store, run_id, "removals", (rid for p in part["people"] for rid in p[2]), as_of)
        dna = DnaIndex.of(list(_parsed(store, run_id, "dna", part["dna"], as_of).values()))
        people = {p.pid: p for p in (state.person_from_json(obj, ice, removals) for obj in part["people"])}
        cviews = [ChildView.of(state.group_from_json(ids, orr)) for ids in part["groups"]]
        loaded = time.monotonic()
        if check is not None:
            check()
        partition = Partition(number, part["children"], sorted(people), [tuple(k) for k in part["oversized"]])
        told = {"partition": number + 1, "partitions": run.partitions, "children": len(cviews)}

        def linked(done: int, _children: int) -> None:
            if check is not None:
                check()  # a cancelled or failed run stops between slices of the partition
            progress(MATCH, None, told | {"linked": done})

        firsts = link_partition(_linker(head, people), cviews, partition, dna, progress=linked)
        store.put_artifact(
            run_id,
            f"first:{number}",
            jsontext.dumps(
                {"children": part["children"], "firsts": [state.first_to_json(f) for f in firsts]}
            ),
        )
        log.info(
            "match.done",
            children=len(firsts),
            people=len(people),
            load_seconds=round(loaded - started, 2),
            match_seconds=round(time.monotonic() - loaded, 2),
        )
        return told | {"linked": len(firsts), "people": len(people)}


def finish_run(
    run_id: str, store: Store, check: Callable[[], None] | None = None, progress: ProgressFn = _noop
) -> dict[str, int]:
    """The family pass and classification over every partition's links; stage the results (not
    yet published). Returns its counts: children, revisited, people read."""
    with bound(run_id=run_id, stage=FINISH), no_gc_pauses():
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} is not in the store")
        started = time.monotonic()
        head = jsontext.loads(store.get_artifact(run_id, "model"))
        whole = jsontext.loads(store.get_artifact(run_id, "whole"))
        orr = _all_parsed(store, run_id, "orr", run.as_of)
        groups = [state.group_from_json(ids, orr) for ids in whole["groups"]]
        cviews = [ChildView.of(group) for group in groups]
        # people are read only where a link needs them: placeholders first, records later
        people: dict[int, Person] = {}

        def person(pid: int) -> Person:
            found = people.get(pid)
            if found is None:
                found = people[pid] = Person(pid)
            return found

        firsts: list[FirstLink | None] = [None] * len(groups)
        for number in range(int(whole["partitions"])):
            part = jsontext.loads(store.get_artifact(run_id, f"first:{number}"))
            for i, obj in zip(part["children"], part["firsts"], strict=True):
                firsts[i] = state.first_from_json(obj, cviews[i], person)
        if any(f is None for f in firsts):
            raise RunFailedError(
                f"run {run_id}: the partitions' links do not cover every child; start a new run"
            )
        done = [f for f in firsts if f is not None]
        linker = _linker(head, people)
        revisits = linker.revisits(done)
        for pid in linker.revisit_people(done, revisits):
            person(pid)
        entries = {int(obj[0]): obj for obj in whole["people"]}
        wanted = [entries[pid] for pid in sorted(people)]
        ice = _parsed(store, run_id, "ice", (rid for obj in wanted for rid in obj[1]), run.as_of)
        removals = _parsed(store, run_id, "removals", (rid for obj in wanted for rid in obj[2]), run.as_of)
        for obj in wanted:
            full = state.person_from_json(obj, ice, removals)
            people[full.pid].ice, people[full.pid].removals = full.ice, full.removals
        if check is not None:
            check()
        person_of = {rid: int(obj[0]) for obj in whole["people"] for rid in [*obj[1], *obj[2]]}
        decisions = [state.decision_from_json(d) for d in head["decisions"]]
        dna = list(_all_parsed(store, run_id, "dna", run.as_of).values())
        results = finish(groups, done, linker, revisits, decisions, person_of, dna, run.as_of)
        count = _stage_results(run_id, store, results)
        log.info(
            "finish.done",
            children=count,
            revisited=len(revisits),
            people_read=len(wanted),
            seconds=round(time.monotonic() - started, 2),
        )
        counts = {"children": count, "revisited": len(revisits), "people_read": len(wanted)}
        progress(FINISH, None, counts)
        return counts


def publish_run(
    run_id: str, store: Store, progress: ProgressFn = _noop, settings: Settings | None = None
) -> None:
    """Make the run's results the exported ones, in one transaction, and free the run lock; with
    ``settings``, draw the run's quality sample (``pipeline.store.quality``) once it is published."""
    with bound(run_id=run_id, stage="publish"):
        store.set_stage(run_id, "publish")
        progress("publish", None, None)
        store.mark_succeeded(run_id)
        if settings is not None:
            draw_quality_sample(run_id, store, settings.quality_sample_share)
        store.delete_artifacts(run_id)
        store.release_lock(RUN_LOCK, run_id)
        store.prune_runs(keep=5)
        log.info("run.succeeded")


def draw_quality_sample(run_id: str, store: Store, share: float) -> None:
    """Draw a published run's quality sample; a failure is logged, never undoes the publish (the
    results are right; only the reviewers' sample of them is missing)."""
    try:
        drawn = store.draw_quality_sample(run_id, share)
    except ReunifyError as exc:
        log.error("quality_sample.failed", error=str(exc))
        return
    log.info("quality_sample.drawn", links=drawn, share=share)


def publish_step(
    run_id: str,
    settings: Settings,
    store: Store,
    check: Callable[[], None] | None = None,
    progress: ProgressFn = _noop,
) -> dict[str, Any]:
    """The ``publish`` step through workers: hold the run against the publish gates, then publish.

    A refusal fails the run as refused with the gates' reason here (staged results never
    published, lock released, webhook told) and ends the step normally: a refusal is an answer,
    not an error to retry.
    """
    if check is not None:
        check()
    try:
        gates.check_publish(run_id, store, settings)
    except PublishRefused as exc:
        fail_run(run_id, store, str(exc), settings, refused=True)
        return {"published": False, "refused": list(exc.feeds)}
    publish_run(run_id, store, progress, settings)
    run = store.get_run(run_id)
    children = (run.results_count or 0) if run is not None else 0
    return {"published": True, "refused": [], "children": children}


def fail_run(
    run_id: str, store: Store, error: str, settings: Settings | None = None, *, refused: bool = False
) -> None:
    """Record why a run failed and free the lock; the last good results stay as they are.

    ``refused``: a publish gate stopped it (its outcome is then ``refused``). With ``settings``,
    the operators' webhook (``REUNIFY_NOTIFY_URL``) is told, once (``run_failed`` or
    ``run_refused``): only by the call that failed the run (a run failed already is not announced
    again).
    """
    with bound(run_id=run_id):
        failed_now = store.fail_run(run_id, error, refused=refused)
        store.release_lock(RUN_LOCK, run_id)
        log.error("run.refused" if refused else "run.failed", error=error)
        if failed_now:
            notify.notify_run(settings, store, run_id, notify.RUN_REFUSED if refused else notify.RUN_FAILED)


def _in_thread(name: str, fn: Callable[..., T], *args: Any) -> Future[T]:
    """``fn(*args)`` in a daemon thread; its future. Unlike a ThreadPoolExecutor's threads, one left
    blocked in a read after its run ended (past the deadline) does not hold the process at exit."""
    future: Future[T] = Future()
    future.set_running_or_notify_cancel()

    def body() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to the waiting thread
            future.set_exception(exc)

    threading.Thread(target=body, name=name, daemon=True).start()
    return future


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped an in-process run: it was marked cancelled (nothing published, lock freed)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


INTERRUPTED_REASON = (
    "cancelled: interrupted (Ctrl-C) in the `reunify run` that ran it in-process; "
    "the last good results stay published"
)


class RunDeadlinePassed(ReunifyError):
    """An in-process run did not finish within ``run_deadline_seconds``."""


def run_embedded(
    settings: Settings,
    store: Store,
    trigger: str = "cli",
    progress: ProgressFn = _noop,
    mode: str = "full",
    accept: Sequence[gates.AcceptDrop] = (),
    run_id: str | None = None,
    no_fetch: bool = False,
) -> str:
    """One whole run in this process: the four fetches in parallel threads, then reconcile, the
    publish gates, publish. ``no_fetch``: instead of fetching, the last good run's feed state is
    copied in the store (``pipeline.no_fetch``) and reconciled again, with the decisions made since.
    ``run_id``: the new run's id, when the caller needs it before the run ends.

    Bounded by ``run_deadline_seconds``: past it the run is failed with the stage and the feeds
    not yet fetched, and the threads still working stop at their next check without writing
    (they are daemon threads: one stuck in a read does not keep the process alive). Raises
    RunFailedError (after recording the failure) when any stage fails; PublishRefused, a
    RunFailedError, when a publish gate refused the run (``accept``: operators' acceptances of a
    real drop for this run, see ``pipeline.gates``); RunCancelled, a RunFailedError, when an
    operator cancelled it (``pipeline.cancel``): its threads stop at their next check, within
    about ``heartbeat_seconds``, and nothing is published.
    """
    source = no_fetch_source(store) if no_fetch else None
    run_id = begin_run(store, settings, trigger, run_id, mode=mode, accept=accept)
    limit = settings.run_deadline_seconds
    ends = time.monotonic() + limit

    def past_deadline(stage: str, detail: str) -> RunDeadlinePassed:
        return RunDeadlinePassed(
            f"the run did not finish within REUNIFY_RUN_DEADLINE_SECONDS ({limit} s): stage {stage}, "
            f"{detail}; the last good results stay published. Check the feeds' speed (`reunify status` "
            "shows what each fetched) or raise the deadline"
        )

    with bound(run_id=run_id):
        beat: Heartbeat | None = None
        try:
            with Heartbeat(store, settings, run_id) as beat:
                store.set_stage(run_id, FETCH)
                stored: FeedSnapshot | None = None
                if source is not None:
                    copying = _in_thread("copy-feeds", copy_feed_state, store, run_id, source)
                    # the very records being copied, read back from the source run meanwhile
                    with no_gc_pauses():  # many small acyclic objects: see reconcile.no_gc_pauses
                        stored = load_snapshot(source.id, store)
                    try:
                        copying.result(timeout=max(0.0, ends - time.monotonic()))
                    except TimeoutError:
                        raise past_deadline(FETCH, "copying the last good run's feed state") from None
                kept = {} if source is not None else {feed: FetchedRecords() for feed in FEEDS}
                # the kept records are many small acyclic objects: see reconcile.no_gc_pauses
                with no_gc_pauses():
                    futures = {
                        feed: _in_thread(
                            f"fetch-{feed}",
                            fetch_feed,
                            run_id,
                            feed,
                            settings,
                            store,
                            progress,
                            beat.check,
                            keep,
                        )
                        for feed, keep in kept.items()
                    }
                    wait(
                        futures.values(),
                        timeout=max(0.0, ends - time.monotonic()),
                        return_when=FIRST_EXCEPTION,
                    )
                    for future in futures.values():
                        if future.done():
                            future.result()  # the first failure, in feed order
                    unfinished = [feed for feed, future in futures.items() if not future.done()]
                    if unfinished:
                        raise past_deadline(FETCH, f"feeds not fetched yet: {', '.join(unfinished)}")
                snapshot = stored or FeedSnapshot(**{FEED_ATTR[f]: kept[f].records() for f in FEEDS})
                kept.clear()
                reconciled = _in_thread(
                    "reconcile", reconcile_run, run_id, store, progress, beat.check, snapshot
                )
                del snapshot
                try:
                    reconciled.result(timeout=max(0.0, ends - time.monotonic()))
                except TimeoutError:
                    raise past_deadline(RECONCILE, "every feed fetched") from None
                if time.monotonic() >= ends:
                    raise past_deadline(PUBLISH, "every feed fetched and reconciled")
                beat.check()
                # the gates are the publish stage's first act, as in a run through workers
                store.set_stage(run_id, PUBLISH)
                gates.check_publish(run_id, store, settings)
                publish_run(run_id, store, progress, settings)
        except PublishRefused as exc:
            fail_run(run_id, store, str(exc), settings, refused=True)
            raise PublishRefused(f"run {run_id} was not published: {exc}", exc.feeds, run_id) from exc
        except KeyboardInterrupt:
            # stop cleanly: the run is cancelled (not failed: an operator stopped it), its lock
            # freed, and its threads still working stop at their next check
            if beat is not None:
                beat.abandon("the run was interrupted")
            store.cancel_run(run_id, INTERRUPTED_REASON)
            store.release_lock(RUN_LOCK, run_id)
            log.warning("run.interrupted")
            raise Interrupted(run_id) from None
        except ReunifyError as exc:
            _abandon(beat, run_id, store, str(exc), settings)
            ended = store.get_run(run_id)
            if ended is not None and ended.cancelled:  # `reunify cancel`, from any process
                raise RunCancelled(f"run {run_id} was {ended.error}", run_id) from exc
            raise RunFailedError(f"run {run_id} failed: {exc}", run_id) from exc
        except Exception as exc:
            _abandon(beat, run_id, store, f"unexpected {type(exc).__name__}: {exc}", settings)
            raise RunFailedError(
                f"run {run_id} failed: unexpected {type(exc).__name__}: {exc}", run_id
            ) from exc
    return run_id


def _abandon(
    beat: Heartbeat | None, run_id: str, store: Store, error: str, settings: Settings | None = None
) -> None:
    """Fail an in-process run and stop its threads still working at their next check."""
    if beat is not None:
        beat.abandon(f"the run failed: {error}")
    fail_run(run_id, store, error, settings)


# -- runs through workers -------------------------------------------------------------------------


@dataclass(frozen=True)
class StepOutcome:
    """What one execution of a step did: ran it (``ran``), or skipped it and why (``detail``)."""

    step: str
    ran: bool
    detail: str
    advanced_to: str | None = None
    value: Any = None


def dispatch(run_id: str, steps: Sequence[str], store: Store, send: SendFn) -> None:
    """Record that ``steps`` are sent now, then send them (the record first: a worker may be fast)."""
    store.mark_sent(run_id, steps)
    send(run_id, steps)


def start_distributed(
    store: Store,
    settings: Settings,
    trigger: str,
    send: SendFn,
    mode: str = "full",
    accept: Sequence[gates.AcceptDrop] = (),
    no_fetch: bool = False,
) -> str:
    """Begin a run and send its fetch steps to the workers; returns the run id. ``no_fetch``: the
    last good run's feed state is copied here instead (``pipeline.no_fetch``) and the workers
    start at the prepare step.

    RunInProgressError if a run is in progress; if the steps cannot be sent (broker down) the run
    is failed with that reason and RunFailedError raised. ``accept`` is stored on the run before
    any step is sent, for the publish step to honour.
    """
    source = no_fetch_source(store) if no_fetch else None
    run_id = begin_run(store, settings, trigger, mode=mode, accept=accept)
    store.set_stage(run_id, FETCH)
    first = FETCH_STEPS
    if source is not None:
        try:
            copy_feed_state(store, run_id, source)
        except ReunifyError as exc:
            fail_run(run_id, store, f"could not copy the last good run's feed state: {exc}", settings)
            raise RunFailedError(f"run {run_id} failed: {exc}", run_id) from exc
        store.set_stage(run_id, PREPARE)
        first = (PREPARE,)
    try:
        dispatch(run_id, first, store, send)
    except Exception as exc:
        reason = f"could not send the run's tasks to the broker: {type(exc).__name__}: {exc}"
        fail_run(run_id, store, reason, settings)
        raise RunFailedError(f"run {run_id} failed: {reason}", run_id) from exc
    return run_id


def execute_step(
    run_id: str,
    step: str,
    settings: Settings,
    store: Store,
    body: Callable[[Heartbeat], Any],
    send: SendFn,
) -> StepOutcome:
    """Run one step of a run exactly as far as the store allows, then advance the run.

    Skipped (with the reason, nothing written) when the run is not running or in another stage,
    the step is done, or a live worker holds it. Otherwise the step's lease is taken and renewed
    while ``body`` runs; on an exception the lease is given back (the retry or the watchdog
    re-sends the step) and the exception propagates.
    """
    with bound(run_id=run_id, step=step):

        def skipped(reason: str) -> StepOutcome:
            log.info("step.skipped", reason=reason)
            return StepOutcome(step, False, reason)

        run = store.get_run(run_id)
        if run is None:
            return skipped("no such run")
        if run.status != "running":
            return skipped("the run was cancelled" if run.cancelled else f"the run has {run.status}")
        stage = run.stage or FETCH
        if stage_of(step) != stage:
            return skipped(f"the run is in stage {stage}")
        owner = step_owner()
        if not store.claim_step(run_id, step, owner, settings.stall_seconds):
            return skipped("done already, or another worker holds it")
        log.info("step.started", owner=owner)
        started = time.monotonic()
        try:
            with Heartbeat(store, settings, run_id, step, owner) as beat:
                value = body(beat)
        except StepAbandoned:
            with suppress(ReunifyError):
                store.release_step(run_id, step, owner)
            raise
        except BaseException as exc:
            with suppress(ReunifyError):
                store.release_step(run_id, step, owner)
            # a step of a run that ended meanwhile (cancelled, failed elsewhere) whose writes the
            # store refused is not a failure to retry: it stops, like a step that checked in time
            with suppress(ReunifyError):
                ended = store.get_run(run_id)
                if ended is not None and ended.status != "running":
                    raise StepAbandoned(ended_reason(store, run_id)) from exc
            raise
        ended = store.get_run(run_id)
        if ended is not None and ended.cancelled:
            # cancelled while the step worked: its work is not marked done, nothing advances
            store.release_step(run_id, step, owner)
            return skipped(ended_reason(store, run_id) + " while the step ran")
        if not store.finish_step(run_id, step, owner):
            return skipped("another worker took the step over while it ran")
        log.info("step.done", seconds=round(time.monotonic() - started, 2))
        return StepOutcome(step, True, "done", advance(run_id, store, send), value)


def advance(run_id: str, store: Store, send: SendFn) -> str | None:
    """Move a running run to its next stage if every step of its stage is done, and send the next
    stage's steps; the new stage, or None. Safe to call any number of times, from anywhere."""
    run = store.get_run(run_id)
    if run is None or run.status != "running":
        return None
    stage = run.stage or FETCH
    nxt = NEXT_STAGE.get(stage)
    if nxt is None or not store.advance_stage(run_id, stage, nxt, stage_steps(stage, run.partitions)):
        return None
    log.info("run.advanced", run_id=run_id, stage=nxt)
    dispatch(run_id, stage_steps(nxt, run.partitions), store, send)
    return nxt


@dataclass
class WatchReport:
    """What one watchdog pass did: steps re-sent (``run_id:step``), runs failed, runs advanced."""

    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    advanced: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"resent": self.resent, "failed": self.failed, "advanced": self.advanced}


def pending_steps(run: RunInfo, steps: Iterable[StepInfo]) -> list[str]:
    """The steps of the run's current stage that are not done."""
    done = {s.step for s in steps if s.done}
    return [name for name in stage_steps(run.stage or FETCH, run.partitions) if name not in done]


def watch_runs(store: Store, settings: Settings, send: SendFn) -> WatchReport:
    """The watchdog: recover or fail every running run that workers run.

    For each running run: past its deadline → failed with the reason (stage, unfinished steps);
    every step of its stage done but not advanced (the advancing worker died) → advanced; a step
    whose worker stopped renewing its lease for ``stall_seconds`` → re-sent (after
    ``step_max_attempts`` such losses the run fails); a step never taken while the whole run has
    been quiet for ``stall_seconds`` (its message was lost with the broker) → re-sent. Each
    re-send is claimed in the store first, so concurrent watchdogs send it once.
    """
    report = WatchReport()
    now = store.now()
    stall = timedelta(seconds=settings.stall_seconds)
    for run in store.running_runs():
        steps = store.list_steps(run.id)
        with bound(run_id=run.id):
            pending = pending_steps(run, steps)
            if run.deadline is not None and now >= run.deadline:
                fail_run(
                    run.id,
                    store,
                    f"the run did not finish within REUNIFY_RUN_DEADLINE_SECONDS "
                    f"({settings.run_deadline_seconds} s): stage {run.stage or FETCH}, unfinished steps: "
                    f"{', '.join(pending) or 'none'}; check the workers (`celery -A workers inspect ping`)",
                    settings,
                )
                report.failed.append(run.id)
                continue
            if not steps:
                continue  # an embedded run: its own process runs it
            if not pending:
                if advance(run.id, store, send):
                    report.advanced.append(run.id)
                continue
            by_name = {s.step: s for s in steps}
            quiet = now - run.heartbeat_at >= stall
            for name in pending:
                info = by_name.get(name)
                if info is not None and info.leased(now):
                    continue
                lost = info is not None and info.lost(now)
                if lost and info is not None and info.attempts >= settings.step_max_attempts:
                    fail_run(
                        run.id,
                        store,
                        f"step {name} was lost {info.attempts} times (REUNIFY_STEP_MAX_ATTEMPTS): "
                        "the worker running it died each time; see the worker logs",
                        settings,
                    )
                    report.failed.append(run.id)
                    break
                if (lost or quiet) and store.resend_step(run.id, name, now - stall):
                    log.warning("watchdog.resent", step=name, worker_lost=lost, quiet=quiet)
                    send(run.id, [name])
                    report.resent.append(f"{run.id}:{name}")
    for run_id in store.fail_stale_runs(
        timedelta(seconds=settings.run_deadline_seconds),
        f"no sign of life for {settings.run_deadline_seconds} s (REUNIFY_RUN_DEADLINE_SECONDS): "
        "its process or workers were lost",
    ):
        store.release_lock(RUN_LOCK, run_id)
        log.warning("run.swept", run_id=run_id)
        notify.notify_run(settings, store, run_id, notify.RUN_FAILED)
        report.failed.append(run_id)
    return report


def export_rows(store: Store, run_id: str | None = None) -> Iterable[dict[str, Any]]:
    """The export objects of a run (default: the latest successful one)."""
    return store.iter_results(run_id)
