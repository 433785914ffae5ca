"""The ``reunify`` command: parse arguments, dispatch, print. No domain logic lives here."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from pipeline.errors import ReunifyError, RunFailedError
from pipeline.logging import configure_logging
from pipeline.ops.commands import register as register_ops_commands
from pipeline.results import COHORTS, STATUSES
from pipeline.settings import FEEDS, Settings, get_settings, warn_unknown_keys
from pipeline.store import RunInfo, Store

# the stages after fetching, shown as they start (in-process: reconcile; through workers:
# prepare, match, finish), then publish
LATER_STAGES = ("reconcile", "prepare", "match", "finish", "publish")

CSV_COLUMNS = (
    "child_record_ids",
    "a_number",
    "name",
    "date_of_birth",
    "age_years",
    "cohort",
    "status",
    "reasons",
    "parent_ice_record_ids",
    "parent_removal_record_ids",
    "parent_a_number",
    "parent_name",
    "match_score",
    "evidence",
    "location_state",
    "location_resolved",
    "location_facility",
    "location_country",
    "location_since",
    "days_unresolved",
    "needs_review",
    "run_id",
)


class Progress:
    """Draws a run's progress: one line per feed and stage, rewritten in place on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.feeds: dict[str, dict[str, int]] = {}
        self.stage = "fetch"
        self.started = time.monotonic()
        self._last = ""

    def __call__(self, stage: str, feed: str | None, counts: dict[str, int] | None) -> None:
        if feed is not None and counts is not None:
            self.feeds[feed] = counts
            if stage == "fetched":
                self._emit(final=True)
                return
        if stage in LATER_STAGES:
            self.stage = stage
            self._emit(final=True)
            return
        if self.tty:
            self._emit(final=False)

    def _line(self) -> str:
        parts = [f"{feed} {c.get('fetched', 0):,}" for feed, c in sorted(self.feeds.items())]
        elapsed = time.monotonic() - self.started
        return f"[{elapsed:6.1f}s] {self.stage:<9} " + "  ".join(parts)

    def _emit(self, final: bool) -> None:
        line = self._line()
        if line == self._last:
            return
        self._last = line
        if self.tty:
            self.out.write("\r\x1b[2K" + line + ("\n" if final else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()


def summary_table(results: Iterable[dict[str, Any]], quarantined: dict[str, int] | None) -> str:
    """Children per status and cohort, quarantined records per feed, unresolved locations."""
    table: Counter[tuple[str, str]] = Counter()
    unresolved = review = 0
    for row in results:
        table[(row["status"], row["cohort"])] += 1
        unresolved += not row["parent_location"]["resolved"]
        review += bool(row.get("needs_review"))
    width = max(len(s) for s in STATUSES) + 2
    lines = ["status".ljust(width) + "".join(c.rjust(12) for c in COHORTS) + "total".rjust(9)]
    for status in STATUSES:
        cells = [table[(status, c)] for c in COHORTS]
        lines.append(status.ljust(width) + "".join(f"{n:>12,}" for n in cells) + f"{sum(cells):>9,}")
    totals = [sum(table[(s, c)] for s in STATUSES) for c in COHORTS]
    lines.append("total".ljust(width) + "".join(f"{n:>12,}" for n in totals) + f"{sum(totals):>9,}")
    lines.append("")
    lines.append(f"unresolved parent locations: {unresolved:,}    links needing review: {review:,}")
    if quarantined is not None:
        quarantine = ", ".join(f"{feed} {quarantined.get(feed, 0):,}" for feed in FEEDS)
        lines.append(f"quarantined records: {quarantine}")
    return "\n".join(lines)


def quarantined_counts(run: RunInfo | None) -> dict[str, int]:
    """Quarantined records per feed of a run."""
    return {feed: c.quarantined for feed, c in run.counts.items()} if run else {}


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    parent = row.get("parent") or {}
    loc = row.get("parent_location") or {}
    return {
        "child_record_ids": ";".join(row["child_record_ids"]),
        "a_number": row.get("a_number") or "",
        "name": row.get("name") or "",
        "date_of_birth": row.get("date_of_birth") or "",
        "age_years": "" if row.get("age_years") is None else row["age_years"],
        "cohort": row["cohort"],
        "status": row["status"],
        "reasons": ";".join(row.get("reasons") or []),
        "parent_ice_record_ids": ";".join(parent.get("ice_record_ids") or []),
        "parent_removal_record_ids": ";".join(parent.get("removal_record_ids") or []),
        "parent_a_number": parent.get("a_number") or "",
        "parent_name": parent.get("name") or "",
        "match_score": "" if parent.get("match_score") is None else parent["match_score"],
        "evidence": " | ".join(parent.get("evidence") or []),
        "location_state": loc.get("state", ""),
        "location_resolved": loc.get("resolved", ""),
        "location_facility": loc.get("facility") or "",
        "location_country": loc.get("country") or "",
        "location_since": loc.get("since") or "",
        "days_unresolved": "" if loc.get("days_unresolved") is None else loc["days_unresolved"],
        "needs_review": row.get("needs_review", False),
        "run_id": row.get("run_id", ""),
    }


def write_export(rows: Iterable[dict[str, Any]], fmt: str, out: TextIO) -> int:
    """Write export objects as JSON lines or CSV; returns how many were written."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(_flatten(row))
            count += 1
    else:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def _run_via_broker(settings: Settings, store: Store, trigger: str, progress: Progress, mode: str) -> str:
    from workers.tasks import start_run

    run_id = start_run(settings, store, trigger, mode)
    seen: dict[str, tuple[int, ...]] = {}
    warned = False
    while True:
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} vanished from the store")
        for feed, c in run.counts.items():
            key = (c.fetched, c.valid)
            if seen.get(feed) != key:
                seen[feed] = key
                progress("fetch", feed, {"fetched": c.fetched, "quarantined": c.quarantined})
        if run.stage and run.stage != progress.stage and run.stage in LATER_STAGES:
            progress(run.stage, None, None)
        if run.status == "succeeded":
            return run_id
        if run.status == "failed":
            raise RunFailedError(f"run {run_id} failed: {run.error}")
        quiet = (store.now() - run.heartbeat_at).total_seconds()
        if not warned and quiet > 2 * settings.stall_seconds + settings.sweep_seconds:
            warned = True
            sys.stderr.write(
                f"reunify: no progress for {quiet:.0f} s; the watchdog (`celery -A workers beat`) "
                "re-sends lost work: is beat running, and a worker?\n"
            )
        time.sleep(0.5)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.run import run_embedded

    store = Store(settings.database_url)
    out = sys.stdout
    mode = "workers at the configured broker" if settings.broker_url else "in-process (embedded)"
    out.write(f"reunify run ({args.mode}): as of {settings.as_of}, {mode}\n")
    progress = Progress(out)
    started = time.monotonic()
    if settings.broker_url:
        run_id = _run_via_broker(settings, store, args.trigger, progress, args.mode)
    else:
        run_id = run_embedded(settings, store, args.trigger, progress, mode=args.mode)
    run = store.get_run(run_id)
    out.write(f"\nrun {run_id} succeeded in {time.monotonic() - started:.1f} s\n\n")
    out.write(summary_table(store.iter_results(run_id), quarantined_counts(run)) + "\n")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    store = Store(settings.database_url)
    if store.latest_succeeded_run() is None:
        raise RunFailedError("no successful run yet: run `reunify run` first")
    if args.out == "-":
        write_export(store.iter_results(), args.format, sys.stdout)
        return 0
    path = Path(args.out)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        count = write_export(store.iter_results(), args.format, fh)
    tmp.replace(path)
    sys.stderr.write(f"exported {count:,} children to {path}\n")
    return 0


def cmd_status(_args: argparse.Namespace, settings: Settings) -> int:
    store = Store(settings.database_url)
    runs = store.list_runs(limit=10)
    current = [r for r in runs if r.status == "running"]
    out = sys.stdout
    if current:
        run = current[0]
        now = store.now()
        out.write(
            f"current run {run.id}: stage {run.stage}, trigger {run.trigger}, started {run.started_at}, "
            f"elapsed {(now - run.started_at).total_seconds():.0f} s, "
            f"last progress {(now - run.heartbeat_at).total_seconds():.0f} s ago\n"
        )
        for feed, c in sorted(run.counts.items()):
            out.write(f"  {feed:<9} fetched {c.fetched:>9,}  quarantined {c.quarantined:>6,}\n")
        for step in store.list_steps(run.id):
            state = "done" if step.done else "running" if step.leased(now) else "queued"
            out.write(f"  step {step.step:<15} {state:<8} sent {step.sends}x, started {step.attempts}x\n")
    else:
        out.write("no run in progress\n")
    out.write("\nlast runs:\n")
    _print_runs(runs, out)
    return 0


def _print_runs(runs: Sequence[Any], out: TextIO) -> None:
    out.write(f"{'run':<34}{'trigger':<8}{'started':<27}{'seconds':>8}  {'outcome':<10}error\n")
    for run in runs:
        seconds = ""
        if run.finished_at and run.started_at:
            seconds = f"{(run.finished_at - run.started_at).total_seconds():.1f}"
        out.write(
            f"{run.id:<34}{run.trigger:<8}{str(run.started_at)[:26]:<27}{seconds:>8}  "
            f"{run.status:<10}{run.error or ''}\n"
        )


def cmd_unlock(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.run import unlock

    store = Store(settings.database_url)
    sys.stdout.write(unlock(store, settings, force=args.force) + "\n")
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    store = Store(settings.database_url)
    store.upgrade()
    sys.stdout.write("database schema is up to date\n")
    return 0


def cmd_demo(args: argparse.Namespace, _settings: Settings) -> int:
    from pipeline.sim.demo import run_demo

    return run_demo(args.children, args.seed, args.fault_rate, Path(args.workdir))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``reunify`` sub-command."""
    parser = argparse.ArgumentParser(
        prog="reunify",
        description="Reconcile the agency feeds (ORR, ICE, removals, DNA): link each separated child to "
        "their parent, decide their status, and publish the results.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="one reconciliation: fetch the feeds, reconcile, publish")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--full", dest="mode", action="store_const", const="full", help="fetch every feed whole (the default)"
    )
    mode.add_argument(
        "--incremental",
        dest="mode",
        action="store_const",
        const="incremental",
        help="fetch only what changed since the last successful run, carry the rest forward",
    )
    run.set_defaults(mode="full")
    run.add_argument("--trigger", default="cli", help=argparse.SUPPRESS)
    run.set_defaults(func=cmd_run)
    export = sub.add_parser("export", help="the latest successful run's results")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--out", required=True, help="file path, or - for stdout")
    export.set_defaults(func=cmd_export)
    status = sub.add_parser("status", help="the current run and the last runs")
    status.set_defaults(func=cmd_status)
    unlock = sub.add_parser(
        "unlock",
        help="free the run lock a killed `reunify run` left behind (fails that run)",
        description="Free the run lock when `reunify run` says a run is in progress but its process is "
        "gone (killed, crashed, host lost). An in-process run that beat no heartbeat for "
        "REUNIFY_STALL_SECONDS is failed and its lock freed (the next run does this by itself too); "
        "a run that looks alive, or one through workers, is left alone unless --force.",
    )
    unlock.add_argument(
        "--force",
        action="store_true",
        help="fail the holding run even though it looks alive, and free the lock",
    )
    unlock.set_defaults(func=cmd_unlock)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db)
    demo = sub.add_parser("demo", help="reconcile a generated world served by the built-in simulator")
    demo.add_argument("--children", type=int, default=2300)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--fault-rate", type=float, default=0.05, help="fraction of feed requests that fail")
    demo.add_argument("--workdir", default="out/demo")
    demo.set_defaults(func=cmd_demo)
    register_ops_commands(sub)  # report, review, show, discrepancies, runs (pipeline/ops)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``reunify`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_json)
        warn_unknown_keys(settings)
        return int(args.func(args, settings))
    except ReunifyError as exc:
        sys.stderr.write(f"reunify: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("reunify: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
