"""The ``reunify`` command: parse arguments, dispatch, print. No domain logic lives here."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from entrypoints.ops_commands import register as register_ops_commands
from entrypoints.summary import quarantined_counts, summary_table
from entrypoints.web_commands import register as register_web_commands
from pipeline.errors import (
    ConfigError,
    ReunifyError,
    RunFailedError,
    RunInProgressError,
)
from pipeline.exit_codes import ExitCode
from pipeline.exit_codes import epilog as exit_codes_epilog
from pipeline.gates import AcceptDrop, describe_acceptance
from pipeline.logging import configure_logging
from pipeline.ops.escape import term_text, write_text
from pipeline.ops.export import write_export
from pipeline.progress import Progress
from pipeline.settings import FEEDS, Settings, get_settings, warn_unknown_keys
from pipeline.store import RunInfo, Store


def _interrupted(progress: Progress, run_id: str | None, through_workers: bool) -> int:
    """What Ctrl-C on ``reunify run`` did, on stderr; exit code 130."""
    progress.close()
    if run_id is None:
        sys.stderr.write("reunify: interrupted before the run started\n")
    elif through_workers:
        sys.stderr.write(
            f"reunify: interrupted; run {run_id} goes on in the workers. Follow it with `reunify status`, "
            f"stop it with `reunify cancel {run_id}`\n"
        )
    else:
        sys.stderr.write(
            f"reunify: interrupted; run {run_id} was stopped and marked cancelled, nothing was published "
            "(the last good results stay)\n"
        )
    return ExitCode.INTERRUPTED


def _run_json(store: Store, run_id: str | None, error: str | None = None) -> str:
    """``reunify run --json``: the run's id, outcome, counts, and its results' totals."""
    from pipeline.ops.check import run_dict

    run = store.get_run(run_id) if run_id else None
    if run is None:
        return json.dumps({"run_id": None, "outcome": "not_started", "error": error}) + "\n"
    body = run_dict(run)
    if run.status == "succeeded":
        totals = store.result_totals(run.id)
        body.update(
            by_status=totals.by_status,
            by_cohort=totals.by_cohort,
            unresolved_parent_locations=totals.unresolved,
            links_needing_review=totals.needs_review,
        )
    return json.dumps(body, sort_keys=True) + "\n"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"


def acceptances(args: argparse.Namespace) -> list[AcceptDrop]:
    """The run's ``--accept-drop FEED`` acceptances with ``--reason`` and ``--who`` (default: the
    OS user); ConfigError when one is given without the other."""
    feeds = list(dict.fromkeys(args.accept_drop or ()))
    if args.reason is not None and not feeds:
        raise ConfigError("--reason goes with --accept-drop FEED: it says why that feed's drop is real")
    if feeds and not (args.reason or "").strip():
        raise ConfigError(
            f"--accept-drop {' '.join(feeds)} needs --reason TEXT: why the drop is real "
            "(it is stored with the run)"
        )
    who = args.who or _os_user()
    return [AcceptDrop(feed, who, args.reason.strip()) for feed in feeds]


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    store = Store(settings.database_url)
    try:
        return _run(args, settings, store)
    finally:
        store.close()  # every connection closed cleanly, whatever the process does next


def _run(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    from pipeline.run import Interrupted, follow_run, launch

    accept = acceptances(args)
    # --no-fetch re-reconciles the stored feed state: an ordinary run with the trigger `review`
    no_fetch = args.mode == "no-fetch"
    req = (
        launch.RunRequest(launch.REVIEW_TRIGGER, "full", True, accept)
        if no_fetch
        else launch.RunRequest(args.trigger, args.mode, False, accept)
    )
    # the progress goes to stderr: stdout holds only the summary (or, with --json, the JSON)
    mode = "workers at the configured broker" if settings.broker_url else "in-process (embedded)"
    sys.stderr.write(f"reunify run ({args.mode}): as of {settings.as_of}, {mode}\n")
    progress = Progress(sys.stderr)
    started = time.monotonic()
    run_id: str | None = None
    try:
        if launch.through_workers(settings):
            from workers.tasks import send_steps

            run_id = launch.send_to_workers(settings, store, req, send_steps)
            follow_run(settings, store, run_id, progress)
        else:
            run_id = launch.run_here(settings, store, req, progress)
    except Interrupted as exc:
        return _interrupted(progress, exc.run_id, through_workers=False)
    except KeyboardInterrupt:
        return _interrupted(progress, run_id, through_workers=bool(settings.broker_url))
    except ReunifyError as exc:
        progress.close()
        if not args.json:
            raise
        sys.stdout.write(_run_json(store, getattr(exc, "run_id", None), str(exc)))
        write_text(sys.stderr, f"reunify: error: {exc}\n")
        return ExitCode.IN_PROGRESS if isinstance(exc, RunInProgressError) else ExitCode.FAILED
    progress.close()
    if args.json:
        sys.stdout.write(_run_json(store, run_id))
        return 0
    run = store.get_run(run_id)
    out = sys.stdout
    out.write(f"run {run_id} succeeded in {time.monotonic() - started:.1f} s\n")
    for acceptance in run.acceptances if run else ():
        out.write(f"  {describe_acceptance(acceptance)}\n")
    out.write("\n")
    out.write(summary_table(store.iter_results(run_id), quarantined_counts(run)) + "\n")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    store = Store(settings.database_url)
    if args.list is not None:  # the agencies' lists (issue 16): pipeline/ops/cases.py
        from entrypoints.ops_commands import export_list

        return export_list(store, settings, args.list, args.format, args.out)
    fmt = args.format or "jsonl"
    if fmt == "xlsx":
        sys.stderr.write("reunify export: error: --format xlsx is for the agencies' lists (--list NAME)\n")
        return ExitCode.USAGE
    if store.latest_succeeded_run() is None:
        raise RunFailedError("no successful run yet: run `reunify run` first")
    if args.out == "-":
        write_export(store.iter_results(), fmt, sys.stdout)
        return 0
    path = Path(args.out)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        count = write_export(store.iter_results(), fmt, fh)
    tmp.replace(path)
    sys.stderr.write(f"exported {count:,} children to {path}\n")
    return 0


def _status_check(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify status --check``: one Nagios-style line (or JSON) and its exit code."""
    from pipeline.ops.check import UNKNOWN, CheckResult, check_status, thresholds

    try:
        warning, critical = thresholds(settings, args.warning, args.critical)
        # read-only: a monitoring check never migrates the store
        result = check_status(Store(settings.database_url, auto_upgrade=False), warning, critical)
    except Exception as exc:  # a plugin that breaks is UNKNOWN, never a false OK or CRITICAL
        result = CheckResult(UNKNOWN, f"the check itself failed: {type(exc).__name__}: {exc}")
    if args.json:
        sys.stdout.write(json.dumps(result.as_dict(), sort_keys=True) + "\n")
    else:
        write_text(sys.stdout, result.line() + "\n")
    return result.code


def _status_json(store: Store) -> int:
    from pipeline.ops.check import run_dict

    runs = store.list_runs(limit=10)
    current = next((r for r in runs if r.status == "running"), None)
    success = store.latest_succeeded_run()
    now = store.now()
    body: dict[str, Any] = {
        "current": run_dict(current) if current else None,
        "steps": [
            {
                "step": s.step,
                "state": "done" if s.done else "running" if s.leased(now) else "queued",
                "sends": s.sends,
                "attempts": s.attempts,
            }
            for s in (store.list_steps(current.id) if current else [])
        ],
        "last_success": run_dict(success) if success else None,
        "runs": [run_dict(r) for r in runs],
    }
    sys.stdout.write(json.dumps(body, sort_keys=True) + "\n")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    if args.check:
        return _status_check(args, settings)
    store = Store(settings.database_url)
    if args.json:
        return _status_json(store)
    runs = store.list_runs(limit=10)
    current = [r for r in runs if r.status == "running"]
    lines = []
    if current:
        run = current[0]
        now = store.now()
        lines.append(
            f"current run {run.id}: stage {run.stage}, trigger {run.trigger}, started {run.started_at}, "
            f"elapsed {(now - run.started_at).total_seconds():.0f} s, "
            f"last progress {(now - run.heartbeat_at).total_seconds():.0f} s ago"
        )
        for feed, c in sorted(run.counts.items()):
            lines.append(f"  {feed:<9} fetched {c.fetched:>9,}  quarantined {c.quarantined:>6,}")
        for step in store.list_steps(run.id):
            state = "done" if step.done else "running" if step.leased(now) else "queued"
            lines.append(f"  step {step.step:<15} {state:<8} sent {step.sends}x, started {step.attempts}x")
    else:
        lines.append("no run in progress")
    lines += ["", "last runs:", *_runs_lines(runs)]
    write_text(sys.stdout, "\n".join(lines) + "\n")
    return 0


def _runs_lines(runs: Sequence[RunInfo]) -> list[str]:
    lines = [f"{'run':<34}{'trigger':<8}{'started':<27}{'seconds':>8}  {'outcome':<10}error"]
    for run in runs:
        seconds = ""
        if run.finished_at and run.started_at:
            seconds = f"{(run.finished_at - run.started_at).total_seconds():.1f}"
        # the error may quote a feed (a redirect's origin): one line, controls escaped
        lines.append(
            f"{run.id:<34}{run.trigger:<8}{str(run.started_at)[:26]:<27}{seconds:>8}  "
            f"{run.outcome:<10}{term_text(run.error or '')}"
        )
    return lines


def cmd_unlock(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.run import unlock

    store = Store(settings.database_url)
    write_text(sys.stdout, unlock(store, settings, force=args.force) + "\n")
    return 0


def cmd_cancel(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.cancel import request_cancel

    run = request_cancel(Store(settings.database_url), args.run_id, args.who or _os_user(), args.reason)
    write_text(
        sys.stdout,
        f"cancelled run {run.id} (stage {run.stage or 'fetch'}): its steps stop at their next check "
        f"(within REUNIFY_HEARTBEAT_SECONDS, {settings.heartbeat_seconds:g} s); nothing of it is "
        "published and the last good results stay; the run lock is free\n",
    )
    return 0


def cmd_metrics_serve(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.metrics import make_metrics_server

    store = Store(settings.database_url, auto_upgrade=False)
    server = make_metrics_server(store, settings, args.host, args.port, settings.metrics_token)
    host, port = args.host, server.server_port
    auth = "bearer token required" if settings.metrics_token else "no token (REUNIFY_METRICS_TOKEN unset)"
    sys.stderr.write(f"reunify: serving metrics of {store.url} at http://{host}:{port}/metrics ({auth})\n")
    if not settings.metrics_token and args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.stderr.write("reunify: warning: metrics served beyond loopback without a token\n")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    store = Store(settings.database_url)
    store.upgrade()
    sys.stdout.write("database schema is up to date\n")
    return 0


def cmd_demo(args: argparse.Namespace, _settings: Settings) -> int:
    from entrypoints.demo import run_demo

    return run_demo(args.children, args.seed, args.fault_rate, Path(args.workdir))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``reunify`` sub-command."""
    parser = argparse.ArgumentParser(
        prog="reunify",
        description="Reconcile the agency feeds (ORR, ICE, removals, DNA): link each separated child to "
        "their parent, decide their status, and publish the results.",
        epilog=exit_codes_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
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
    mode.add_argument(
        "--no-fetch",
        dest="mode",
        action="store_const",
        const="no-fetch",
        help="fetch nothing: reconcile the last successful run's feed records again (after review "
        "decisions); an ordinary run (lock, gates, publish) with the trigger `review`",
    )
    run.set_defaults(mode="full")
    run.add_argument(
        "--accept-drop",
        action="append",
        choices=FEEDS,
        metavar="FEED",
        help=f"publish although this feed ({', '.join(FEEDS)}) shrank by more than REUNIFY_MAX_FEED_DROP "
        "against the last good run or had more than REUNIFY_MAX_QUARANTINE_RATE of its records "
        "quarantined (the publish gates); repeatable; needs --reason; stored with the run",
    )
    run.add_argument("--reason", help="why the accepted drop is real (stored with the run; required)")
    run.add_argument("--who", help="who accepts the drop (default: the OS user)")
    run.add_argument("--trigger", default="cli", help=argparse.SUPPRESS)
    run.add_argument(
        "--json",
        action="store_true",
        help="print only the run's outcome and counts as JSON (progress: stderr)",
    )
    run.set_defaults(func=cmd_run)
    export = sub.add_parser("export", help="the latest successful run's results")
    export.add_argument(
        "--format",
        choices=("jsonl", "csv", "xlsx"),
        default=None,
        help="jsonl: the contract's export objects, exact; csv: one row per child, text cells "
        "neutralised for spreadsheets (default jsonl; with --list: csv or xlsx, default csv)",
    )
    export.add_argument(
        "--list",
        choices=("parents-to-locate", "children-per-facility", "court-table"),
        help="an agency's list instead of the export: parents-to-locate (ICE ERO), "
        "children-per-facility (ORR), court-table (the court); recorded in the audit trail",
    )
    export.add_argument("--out", required=True, help="file path, or - for stdout")
    export.set_defaults(func=cmd_export)
    status = sub.add_parser(
        "status",
        help="the current run and the last runs; --check for monitoring",
        description="Without options: the current run and the last runs. --check: one line in the Nagios "
        "plugin convention, exit 0 OK, 1 WARNING, 2 CRITICAL (the last run failed, none succeeded, or "
        "the last success is older than --critical), 3 UNKNOWN (store unreadable or empty).",
    )
    status.add_argument("--check", action="store_true", help="monitoring check: one line and its exit code")
    status.add_argument(
        "--warning",
        type=float,
        metavar="HOURS",
        help="warn when the last success is older than this (default 1.5x the schedule interval)",
    )
    status.add_argument(
        "--critical",
        type=float,
        metavar="HOURS",
        help="critical when the last success is older than this (default 2x the schedule interval)",
    )
    status.add_argument("--json", action="store_true", help="JSON for scripts (with --check: the check's)")
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
    cancel = sub.add_parser(
        "cancel",
        help="stop the run in progress (or RUN) cleanly; nothing of it is published",
        description="Cancel a run in progress, through workers or in-process (from any shell): it is "
        "marked cancelled with who and why, its steps stop at their next check, nothing of it is "
        "published (the last good results stay) and the run lock is freed for the next run.",
    )
    cancel.add_argument(
        "run_id", nargs="?", metavar="RUN", help="the run to cancel (default: the one in progress)"
    )
    cancel.add_argument("--reason", help="why (stored in the run's reason)")
    cancel.add_argument("--who", help="who cancels (default: the OS user)")
    cancel.set_defaults(func=cmd_cancel)
    metrics = sub.add_parser("metrics", help="Prometheus metrics read from the store")
    metrics_sub = metrics.add_subparsers(dest="metrics_command", required=True)
    serve = metrics_sub.add_parser(
        "serve",
        help="serve /metrics over HTTP (bearer token: REUNIFY_METRICS_TOKEN)",
        description="Serve the store's metrics in the Prometheus text format at /metrics. Every scrape "
        "reads the store. With REUNIFY_METRICS_TOKEN set, a scrape needs Authorization: Bearer <token>.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=9464, help="port (default 9464)")
    serve.set_defaults(func=cmd_metrics_serve)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db)
    demo = sub.add_parser("demo", help="reconcile a generated world served by the built-in simulator")
    demo.add_argument("--children", type=int, default=2300, help="children in the world (default 2300)")
    demo.add_argument("--seed", type=int, default=7, help="the world's random seed (default 7)")
    demo.add_argument("--fault-rate", type=float, default=0.05, help="fraction of feed requests that fail")
    demo.add_argument(
        "--workdir", default="out/demo", help="where the world and the store go (default out/demo)"
    )
    demo.set_defaults(func=cmd_demo)
    register_ops_commands(sub)  # report, review, show, discrepancies, runs (pipeline/ops)
    register_web_commands(sub)  # users, web, audit (pipeline/web)
    _describe_commands(parser)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reunify")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _describe_commands(parser: argparse.ArgumentParser) -> None:
    """Give every sub-command without a description its one-line help as one (`reunify X --help`)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, command in action.choices.items():
            if not command.description:
                command.description = helps.get(name)
            _describe_commands(command)


def _stdout_gone() -> int:
    # The reader closed the pipe (`reunify export --out - | head`): no traceback, and no second
    # BrokenPipeError when Python flushes stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return ExitCode.BROKEN_PIPE


def exit_without_teardown(code: int) -> None:
    """End the process now with ``code``, once the output is flushed, if nothing else is at work.

    After a whole run the interpreter's own shutdown frees every object left (caches, modules,
    the database driver's state) one by one: about 0.7 s of CPU at 20,000 children, for memory
    the operating system takes back at once. Only the console command's process does this (a
    caller of :func:`main` keeps its interpreter), after its store was closed and everything it
    wrote was committed; a thread that is not a daemon (one the interpreter would wait for)
    means work may still be going on, and the process then exits the ordinary way."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        return
    logging.shutdown()  # flushes every handler, as the interpreter's exit would
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``reunify`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_json)
        warn_unknown_keys(settings)
        code = int(args.func(args, settings))
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        if argv is None and args.func is cmd_run:
            exit_without_teardown(code)
        return code
    except BrokenPipeError:
        return _stdout_gone()
    except ReunifyError as exc:
        if getattr(args, "check", False):  # a check that cannot even read its settings is UNKNOWN
            write_text(sys.stdout, f"REUNIFY UNKNOWN - {exc}\n")
            return 3
        write_text(sys.stderr, f"reunify: error: {exc}\n")
        return ExitCode.IN_PROGRESS if isinstance(exc, RunInProgressError) else ExitCode.FAILED
    except KeyboardInterrupt:
        sys.stderr.write("reunify: interrupted\n")
        return ExitCode.INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
