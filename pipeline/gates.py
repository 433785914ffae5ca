"""The publish gates: what a run's feeds must look like before its results are published.

Each gate is declared once in ``GATES`` (like a dbt test's ``error_if`` or a Great Expectations
checkpoint): its name, what it measures, the setting that holds its threshold, and
``evaluate(view, threshold)`` → a :class:`Verdict`. ``check_publish`` holds every feed of a run
against every gate before ``publish``, stores every outcome (``run_gate_checks``: passed, refused
or accepted, with the numbers) and raises :class:`~pipeline.errors.PublishRefused` when any gate
refuses: the run is then failed as refused, its staged results never published, the last good
results untouched.

The baseline is the last successful run, whatever its mode. A run's valid count of a feed is
always the feed's whole current state: after an incremental fetch it counts the changed records
fetched *and* the base run's records carried forward (``Store.count_feed_records`` after
``carry_forward``), so the counts of full and incremental runs compare like with like. Because
carry-forward keeps every record of its base, an incremental fetch (ORR, ICE, DNA) cannot shrink
its feed: the drop gate is evaluated and recorded on it, and passes; a deletion upstream is seen
by the next full run (``reunify run --full``, or ``REUNIFY_SCHEDULED_MODE=full``). The removal
list is always fetched whole, so its drop gate bites in every run. The quarantine gate measures
only the records the feed served in this run (the changes, for an incremental fetch) and needs
no baseline: it applies to every run, a store's first included. The first run has no baseline
and passes the drop gate. A feed that is no longer configured (DNA is optional) counts as empty:
against a baseline that had its records it is a drop, to be accepted explicitly.

An operator who knows a drop is real accepts it for one run (``reunify run --accept-drop FEED
--reason TEXT``, stored on the run when it begins, so that a publish step on any worker sees it):
every gate of that feed then records ``accepted`` instead of ``refused`` for that run, and the
run, once published, is the next run's baseline.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pipeline.errors import ConfigError, PublishRefused, RunFailedError
from pipeline.incremental import PlanStore, plan_fetch
from pipeline.logging import get_logger
from pipeline.settings import FEEDS, Settings
from pipeline.store import Acceptance, FeedCounts, GateCheck, RunInfo
from pipeline.store.ports import Clock, GateVerdicts, RunReader
from pipeline.store.schema import GATE_OUTCOMES

log = get_logger(__name__)

PASSED, REFUSED, ACCEPTED = GATE_OUTCOMES
_EMPTY = FeedCounts(0, 0, 0)
# the longest ``--who`` the store keeps (run_acceptances.who)
WHO_MAX_CHARS = 255


@dataclass(frozen=True)
class FeedView:
    """What the gates see of one feed of a run: its counts, the same feed's counts in the
    baseline run (None on a store's first run), whether it was fetched incrementally (its valid
    count then includes the records carried forward) and whether it is configured at all."""

    feed: str
    current: FeedCounts
    baseline: FeedCounts | None
    incremental: bool = False
    configured: bool = True


@dataclass(frozen=True)
class Verdict:
    """What one gate found for one feed: whether its threshold is exceeded, the fraction it
    measured (None when there is nothing to compare with), the two counts compared, and one
    sentence an operator can act on (feed name and counts only: no personal data)."""

    exceeded: bool
    measured: float | None
    observed: int
    reference: int | None
    detail: str


class Gate(Protocol):
    """A publish gate: declared once, evaluated for every feed of every run."""

    @property
    def name(self) -> str: ...

    @property
    def measures(self) -> str: ...

    @property
    def setting(self) -> str: ...

    def threshold(self, settings: Settings) -> float:
        """The gate's threshold, from its setting."""
        ...

    def evaluate(self, view: FeedView, threshold: float) -> Verdict:
        """The verdict on one feed of a run."""
        ...


def _pct(fraction: float) -> str:
    return f"{fraction:.1%}"


@dataclass(frozen=True)
class FeedDropGate:
    """A feed whose valid records fell by more than the threshold against the last good run."""

    name: str = "feed_drop"
    measures: str = "the fall of a feed's valid records from the last good run's count"
    setting: str = "REUNIFY_MAX_FEED_DROP"

    def threshold(self, settings: Settings) -> float:
        """``REUNIFY_MAX_FEED_DROP``."""
        return settings.max_feed_drop

    def evaluate(self, view: FeedView, threshold: float) -> Verdict:
        """Exceeded when ``(before - now) / before > threshold``; never without a baseline, nor
        when the baseline had no records of the feed (nothing can have been lost)."""
        feed, now = view.feed, view.current.valid
        state = " (after an incremental fetch: the changes and the records carried forward)"
        counted = f"{feed} feed: {now:,} valid records" + (state if view.incremental else "")
        if view.baseline is None:
            return Verdict(False, None, now, None, f"{counted}; no earlier good run to compare with")
        before = view.baseline.valid
        if before == 0:
            return Verdict(False, None, now, before, f"{counted}; the last good run had none")
        drop = max(0.0, (before - now) / before)
        exceeded = drop > threshold
        detail = f"{counted}, {before:,} in the last good run (drop {_pct(drop)}"
        detail += f" > {self.setting} {_pct(threshold)})" if exceeded else f", within {_pct(threshold)})"
        return Verdict(exceeded, drop, now, before, detail)


@dataclass(frozen=True)
class QuarantineRateGate:
    """A feed that had more than the threshold of the records it served this run quarantined.

    ``floor``: at most this many quarantined records never refuse, whatever their share, so that
    an incremental fetch of a few dozen changed records with one or two bad ones is not taken for
    a flood (one bad record is quarantined and never stops a run: CONTRACT 3).
    """

    name: str = "quarantine_rate"
    measures: str = "the share of the records a feed served this run that were quarantined"
    setting: str = "REUNIFY_MAX_QUARANTINE_RATE"
    floor: int = 5

    def threshold(self, settings: Settings) -> float:
        """``REUNIFY_MAX_QUARANTINE_RATE``."""
        return settings.max_quarantine_rate

    def evaluate(self, view: FeedView, threshold: float) -> Verdict:
        """Exceeded when ``quarantined / fetched > threshold`` and more than ``floor`` records
        were quarantined; the baseline is not needed."""
        bad, served = view.current.quarantined, view.current.fetched
        rate = bad / served if served else 0.0
        exceeded = rate > threshold and bad > self.floor
        detail = f"{view.feed} feed: {bad:,} of {served:,} records served this run quarantined ({_pct(rate)}"
        detail += f" > {self.setting} {_pct(threshold)})" if exceeded else f", within {_pct(threshold)})"
        return Verdict(exceeded, rate, bad, served, detail)


class GateStore(Clock, GateVerdicts, PlanStore, Protocol):
    """What ``check_publish`` needs of the store: the runs, the feeds' counts, somewhere for the
    verdicts, and the store's clock."""


# The gates every run is held against before publishing, in the order their verdicts are told.
GATES: tuple[Gate, ...] = (FeedDropGate(), QuarantineRateGate())


def baseline_run(store: RunReader, run_id: str) -> RunInfo | None:
    """The last successful run other than ``run_id`` (None on a store's first run)."""
    return next((run for run in store.succeeded_runs(limit=2) if run.id != run_id), None)


def evaluate_gates(
    run: RunInfo,
    baseline: RunInfo | None,
    settings: Settings,
    accepted: Collection[str] = (),
    incremental: Collection[str] = (),
    now: datetime | None = None,
    gates: Sequence[Gate] = GATES,
) -> list[GateCheck]:
    """Every gate's outcome on every feed of ``run`` against ``baseline``: passed, refused, or
    accepted (exceeded, and the operator accepted that feed for this run). ``incremental``: the
    feeds this run fetched incrementally."""
    checked_at = now or run.heartbeat_at
    checks: list[GateCheck] = []
    for gate in gates:
        threshold = gate.threshold(settings)
        for feed in FEEDS:
            view = FeedView(
                feed,
                run.counts.get(feed, _EMPTY),
                None if baseline is None else baseline.counts.get(feed, _EMPTY),
                incremental=feed in incremental,
                configured=settings.feed(feed) is not None,
            )
            verdict = gate.evaluate(view, threshold)
            detail = verdict.detail
            if verdict.exceeded and not view.configured:
                name = f"REUNIFY_{feed.upper()}"
                detail += f"; the feed is not configured ({name}_URL, {name}_TOKEN)"
            outcome = PASSED if not verdict.exceeded else ACCEPTED if feed in accepted else REFUSED
            checks.append(
                GateCheck(
                    run_id=run.id,
                    gate=gate.name,
                    feed=feed,
                    outcome=outcome,
                    measured=verdict.measured,
                    threshold=threshold,
                    observed=verdict.observed,
                    reference=verdict.reference,
                    baseline_run_id=None if baseline is None else baseline.id,
                    detail=detail,
                    checked_at=checked_at,
                )
            )
    return checks


def refused_feeds(checks: Sequence[GateCheck]) -> list[str]:
    """The feeds some gate refused, in feed order."""
    refused = {c.feed for c in checks if c.outcome == REFUSED}
    return [feed for feed in FEEDS if feed in refused]


def refusal_reason(checks: Sequence[GateCheck]) -> str:
    """Why the gates refused a run, naming each feed and its numbers, and how to accept it."""
    feeds = refused_feeds(checks)
    details = "; ".join(c.detail for c in checks if c.outcome == REFUSED)
    baseline = next((c.baseline_run_id for c in checks if c.baseline_run_id), None)
    against = f" (last good run {baseline})" if baseline else ""
    accept = " ".join(f"--accept-drop {feed}" for feed in feeds)
    return (
        f"publish refused by the gates{against}: {details}. The last good results stay published. "
        "Check the feed with its agency; if the change is real, re-run with "
        f"`reunify run {accept} --reason TEXT`"
    )


def check_publish(run_id: str, store: GateStore, settings: Settings) -> list[GateCheck]:
    """Hold the run against every gate before it is published and store every outcome.

    Raises PublishRefused (the run is left for the caller to fail as refused) when any gate
    refuses; RunFailedError when the run is gone or no longer running (nothing is stored then).
    """
    run = store.get_run(run_id)
    if run is None:
        raise RunFailedError(f"run {run_id} is not in the store", run_id)
    baseline = baseline_run(store, run_id)
    accepted = {a.feed for a in run.acceptances}
    # the fetch plan's own rule: which feeds this run fetched incrementally (same base, since
    # no run can have succeeded while this one held the run lock)
    incremental = {
        feed for feed in FEEDS if plan_fetch(store, run_id, feed, settings.clock_skew_seconds).incremental
    }
    checks = evaluate_gates(run, baseline, settings, accepted, incremental, store.now())
    if not store.save_gate_checks(run_id, checks):
        raise RunFailedError(f"run {run_id} ended while its publish gates were checked", run_id)
    feeds = refused_feeds(checks)
    log.info(
        "gates.checked",
        baseline_run_id=None if baseline is None else baseline.id,
        refused=feeds,
        accepted=sorted({c.feed for c in checks if c.outcome == ACCEPTED}),
    )
    if feeds:
        raise PublishRefused(refusal_reason(checks), feeds, run_id)
    return checks


@dataclass(frozen=True)
class AcceptDrop:
    """An operator's acceptance of a real drop of one feed, given to a run as it begins."""

    feed: str
    who: str
    why: str


def check_acceptances(accept: Sequence[AcceptDrop]) -> None:
    """ConfigError unless each acceptance names a known feed, who accepts it, and why."""
    for item in accept:
        if item.feed not in FEEDS:
            raise ConfigError(f"--accept-drop names no feed: {item.feed!r} (feeds: {', '.join(FEEDS)})")
        if not item.why.strip():
            raise ConfigError(f"--accept-drop {item.feed} needs --reason TEXT: why the drop is real")
        if not item.who.strip():
            raise ConfigError(f"--accept-drop {item.feed} needs --who NAME: who accepts it")
        if len(item.who) > WHO_MAX_CHARS:
            raise ConfigError(f"--who must be at most {WHO_MAX_CHARS} characters, got {len(item.who)}")


def describe_acceptance(acceptance: Acceptance) -> str:
    """One line for operators: which feed's drop was accepted, by whom, when, why."""
    when = acceptance.accepted_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{acceptance.feed} drop accepted by {acceptance.who} at {when}: {acceptance.why}"
