"""The operators' ``reunify`` sub-commands: report, review, show (a run or a child), discrepancies,
runs.

``register(sub)`` adds them to the CLI's sub-parsers; each command reads the store named by the
settings and prints through :func:`pipeline.ops.escape.write_text` (no control character from a
feed reaches the terminal, or a report file, raw). Exit codes: pipeline/exit_codes.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.exit_codes import ExitCode
from pipeline.ops import cases, discrepancies, report, review, story
from pipeline.ops.escape import write_text
from pipeline.ops.history import render_run, render_runs
from pipeline.settings import Settings
from pipeline.store import Store
from pipeline.store.history import child_key

_FORMAT_HELP = "text for people, jsonl (one JSON object per line) for scripts (default text)"
_NAMES_NOTE = "Shows names, A-numbers and dates of birth: for operators working a case."


def _jsonl(value: str) -> str:
    # "json" was the name of the JSON Lines format before it said so, as `export` does; still accepted
    return "jsonl" if value == "json" else value


def _write(text: str, out: str | None) -> None:
    if out in (None, "-"):
        write_text(sys.stdout, text)
        return
    path = Path(str(out))
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        write_text(fh, text)
    tmp.replace(path)
    sys.stderr.write(f"wrote {path}\n")


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify report``: the court status report."""
    store = Store(settings.database_url)
    rep = report.build_report(store, settings, args.run, with_names=args.with_names)
    render = {"text": report.render_text, "md": report.render_markdown, "html": report.render_html}[
        args.format
    ]
    _write(render(rep), args.out)
    if args.out not in (None, "-"):
        write_text(sys.stderr, rep.check.text() + "\n")
    if not rep.check.ok or (rep.cases is not None and not rep.cases.checks()):
        sys.stderr.write("reunify: the report's totals do not add up; see the check line\n")
        return ExitCode.TOTALS_CHECK
    return 0


def cmd_review_list(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify review list``: the queue."""
    store = Store(settings.database_url)
    items = review.review_queue(store, args.run, args.below)
    if args.format == "jsonl":
        sys.stdout.write(review.queue_json(items))
    else:
        from pipeline.ops.common import resolve_run

        write_text(sys.stdout, review.render_queue(items, resolve_run(store, args.run)))
    return 0


def cmd_review_show(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify review show CHILD``: one case side by side."""
    store = Store(settings.database_url)
    write_text(sys.stdout, review.render_case(review.review_case(store, args.child, args.run)))
    return 0


def cmd_review_decide(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify review confirm|reject CHILD ADULT --who --why``."""
    store = Store(settings.database_url)
    decision = review.decide(store, args.child, args.adult, args.decision, args.who, args.why, args.run)
    write_text(
        sys.stdout,
        f"recorded: {review.render_decision(decision)} (child {decision.child_key}); "
        "every later run honours it\n",
    )
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify show RUN``: one run with its publish gates; ``reunify show CHILD``: one child's story."""
    store = Store(settings.database_url)
    # run ids (hex) and ORR record ids (ORR-...) never look alike: a run id names a run
    run = store.get_run(args.child) if args.run is None else None
    if run is not None:
        write_text(sys.stdout, render_run(run, store.list_gate_checks(run.id)))
        return 0
    found = story.child_story(store, args.child, args.run)
    write_text(sys.stdout, story.render_story(found))
    write_text(sys.stdout, "\n" + cases.render_child_cases(store, settings, child_key(found.case.result)))
    return 0


def export_list(store: Store, settings: Settings, name: str, fmt: str | None, out: str) -> int:
    """``reunify export --list NAME``: an agency's list as CSV or XLSX, on the audit trail (who:
    the shell user, as ``shell:NAME``)."""
    import getpass

    from pipeline.store.access import AccessStore, User

    fmt = fmt or "csv"
    if fmt not in cases.LIST_FORMATS:
        sys.stderr.write(f"reunify export: error: --list takes --format {' or '.join(cases.LIST_FORMATS)}\n")
        return ExitCode.USAGE
    found = cases.agency_list(store, settings, name)
    body = cases.list_bytes(found, fmt)
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    shell = User(0, f"shell:{who}"[:64], "shell", False, 0, None, store.now())
    AccessStore(store).audit(
        shell,
        "download_list",
        f"reunify export --list {name}",
        found.child_ids,
        f"{name}.{fmt}: {len(found.rows)} rows",
    )
    if out == "-":
        if fmt == "xlsx":
            sys.stdout.buffer.write(body)
        else:
            sys.stdout.write(body.decode("utf-8"))
        return 0
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)
    sys.stderr.write(f"wrote {len(found.rows):,} rows of {name} to {path}\n")
    return 0


def cmd_discrepancies(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify discrepancies``: conflicts between agencies."""
    store = Store(settings.database_url)
    run, found = discrepancies.find_discrepancies(store, args.run, settings.clock_skew_seconds)
    if args.format == "jsonl":
        sys.stdout.write(discrepancies.render_json(found, args.with_names))
    else:
        write_text(sys.stdout, discrepancies.render_text(run, found, args.with_names))
    return 0


def cmd_runs(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify runs``: the run history."""
    store = Store(settings.database_url)
    runs = store.list_runs(limit=args.limit)
    if args.json:
        from pipeline.ops.check import run_dict

        sys.stdout.write(json.dumps([run_dict(r) for r in runs], sort_keys=True) + "\n")
        return 0
    write_text(sys.stdout, render_runs(runs))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the operators' sub-commands to the ``reunify`` parser."""
    run_help = "a succeeded run id (default: the latest successful run)"

    rep = sub.add_parser(
        "report",
        help="the court status report (text, Markdown or HTML)",
        description="Children per cohort and status with checked totals, court deadlines, changes since "
        "the previous successful run, and the worklist of unresolved parent locations. "
        "Names appear only with --with-names.",
    )
    rep.add_argument(
        "--format",
        choices=("text", "md", "html"),
        default="text",
        help="text, Markdown or HTML (default text)",
    )
    rep.add_argument("--out", help="file to write (default: stdout)")
    rep.add_argument("--with-names", action="store_true", help="include children's and parents' names")
    rep.add_argument("--run", help=run_help)
    rep.set_defaults(func=cmd_report)

    rev = sub.add_parser(
        "review", help="the review queue: list, show, confirm or reject links", description=_NAMES_NOTE
    )
    rsub = rev.add_subparsers(dest="review_command", required=True)
    lst = rsub.add_parser("list", help="links flagged for review or scored below the bar")
    lst.add_argument("--below", type=float, default=review.DEFAULT_SCORE_BAR, help="score bar (default 0.95)")
    lst.add_argument("--format", type=_jsonl, choices=("text", "jsonl"), default="text", help=_FORMAT_HELP)
    lst.add_argument("--run", help=run_help)
    lst.set_defaults(func=cmd_review_list)
    show = rsub.add_parser(
        "show", help="a child's and its candidate adults' records side by side", description=_NAMES_NOTE
    )
    show.add_argument("child", help="any ORR record id of the child")
    show.add_argument("--run", help=run_help)
    show.set_defaults(func=cmd_review_show)
    for decision, verb in (("confirm", "link this adult to the child"), ("reject", "never link them")):
        dec = rsub.add_parser(decision, help=f"{verb}; stored and honoured by every later run")
        dec.add_argument("child", help="any ORR record id of the child")
        dec.add_argument("adult", help="an ICE or removal record id of the adult")
        dec.add_argument("--who", required=True, help="who decides (stored with the decision)")
        dec.add_argument("--why", required=True, help="why (stored, and shown in the export's evidence)")
        dec.add_argument("--run", help=run_help)
        dec.set_defaults(func=cmd_review_decide, decision=decision)

    sh = sub.add_parser(
        "show",
        help="one run with its publish gates and accepted drops, or one child's whole story",
        description="With a run id: the run's outcome, records per feed, every publish gate's verdict "
        "and the drops operators accepted. With a child's record id: the child's story. " + _NAMES_NOTE,
    )
    sh.add_argument(
        "child", metavar="RUN|CHILD", help="a run id (`reunify runs`), or any ORR record id of a child"
    )
    sh.add_argument("--run", help=run_help)
    sh.set_defaults(func=cmd_show)

    dis = sub.add_parser(
        "discrepancies",
        help="conflicts between agencies that data owners must fix",
        description=(discrepancies.__doc__ or "").strip().split("\n\n")[0],
    )
    dis.add_argument("--with-names", action="store_true", help="list the conflicting A-numbers, names, dates")
    dis.add_argument("--format", type=_jsonl, choices=("text", "jsonl"), default="text", help=_FORMAT_HELP)
    dis.add_argument("--run", help=run_help)
    dis.set_defaults(func=cmd_discrepancies)

    runs = sub.add_parser(
        "runs",
        help="run history: trigger, start, duration, outcome (succeeded, failed, refused by the publish "
        "gates, cancelled), records, accepted drops, errors",
    )
    runs.add_argument("--limit", type=int, default=20, help="how many runs, newest first (default 20)")
    runs.add_argument("--json", action="store_true", help="the runs as a JSON list, newest first")
    runs.set_defaults(func=cmd_runs)
