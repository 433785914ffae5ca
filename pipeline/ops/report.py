"""The court status report: children per cohort and status (with a checked total), each cohort's
court deadline, the changes since the previous successful run, and the worklist of unresolved
parent locations. ``build_report`` gathers the figures; ``document`` lays them out as sections
(:mod:`pipeline.ops.document`), which ``render_text``, ``render_markdown`` and ``render_html``
present. Names appear only when the report is built ``with_names``; every value from a feed goes
through the escaper of the format (:mod:`pipeline.ops.escape`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pipeline.ops import charts
from pipeline.ops import document as rendering
from pipeline.ops.cases import FIGURE_HEAD, CaseFigures, case_figures
from pipeline.ops.common import ids, resolve_run
from pipeline.ops.deadlines import CohortDeadline, deadlines_of
from pipeline.ops.document import Charts, Check, Document, ItemLists, Paragraph, Section, Table
from pipeline.ops.result_row import ResultRow, result_rows
from pipeline.results import COHORTS, STATUSES
from pipeline.settings import Settings
from pipeline.store import RunInfo, Store
from pipeline.store.models import HistoryRow, RunTotals


@dataclass(frozen=True, slots=True)
class TotalsCheck:
    """Proof that every child is counted once and the table's totals add up."""

    exported: int  # export objects in the run
    distinct_children: int  # distinct child keys among them
    duplicated_record_ids: list[str]  # ORR record ids found in more than one child
    cell_sum: int  # sum of the status x cohort cells
    status_total_sum: int  # sum of the per-status totals
    cohort_total_sum: int  # sum of the per-cohort totals
    unlisted: int  # children whose status or cohort is outside the table

    @property
    def ok(self) -> bool:
        """True when every figure agrees."""
        n = self.exported
        return (
            not self.duplicated_record_ids
            and self.unlisted == 0
            and n == self.distinct_children == self.cell_sum == self.status_total_sum == self.cohort_total_sum
        )

    def text(self) -> str:
        """The check and its result, in one line."""
        verdict = "OK" if self.ok else "FAILED"
        extra = ""
        if self.duplicated_record_ids:
            extra += f"; record ids in two children: {', '.join(self.duplicated_record_ids[:10])}"
        if self.unlisted:
            extra += f"; {self.unlisted} children with a status or cohort outside the table"
        return (
            f"check {verdict}: {self.exported} children exported = {self.distinct_children} distinct children"
            f" = {self.cell_sum} in the cells = {self.status_total_sum} by status"
            f" = {self.cohort_total_sum} by cohort; each child record counted once: "
            f"{'yes' if not self.duplicated_record_ids else 'no'}{extra}"
        )


@dataclass(frozen=True, slots=True)
class ChildChange:
    """One child in a change list: what it was and what it is (None = not in that run)."""

    child_key: str
    before: str | None
    after: str | None
    name: str | None = None


@dataclass(slots=True)
class Changes:
    """What changed between the previous successful run and this one."""

    previous: RunInfo | None
    newly_reunified: list[ChildChange] = field(default_factory=list)
    newly_removed: list[ChildChange] = field(default_factory=list)
    newly_unresolved: list[ChildChange] = field(default_factory=list)
    status_changes: list[ChildChange] = field(default_factory=list)
    new_children: list[ChildChange] = field(default_factory=list)
    gone_children: list[ChildChange] = field(default_factory=list)

    def sections(self) -> list[tuple[str, list[ChildChange]]]:
        """(title, children) of each change list, in reading order."""
        return [
            ("newly reunified", self.newly_reunified),
            ("parent newly removed", self.newly_removed),
            ("parent location newly unresolved", self.newly_unresolved),
            ("status changed", self.status_changes),
            ("new children", self.new_children),
            ("children no longer in the feeds", self.gone_children),
        ]


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One unresolved parent location to chase."""

    child_record_ids: list[str]
    parent_record_ids: list[str]
    status: str
    state: str
    country: str | None
    since: str | None
    days_unresolved: int | None
    child_name: str | None = None
    parent_name: str | None = None


@dataclass(slots=True)
class Report:
    """Everything the court report says, as data."""

    run: RunInfo
    with_names: bool
    counts: Counter[tuple[str, str]]
    check: TotalsCheck
    deadlines: list[CohortDeadline]
    changes: Changes
    worklist: list[WorkItem]
    trend: list[RunTotals]
    generated_at: datetime
    # case work per cohort (pipeline/ops/cases.py); None for a run older than the one the cases follow
    cases: CaseFigures | None = None

    @property
    def as_of(self) -> date:
        """The report date (the run's)."""
        return self.run.as_of

    def status_total(self, status: str) -> int:
        """Children with this status, all cohorts."""
        return sum(self.counts[(status, c)] for c in COHORTS)

    def cohort_total(self, cohort: str) -> int:
        """Children of this cohort, all statuses."""
        return sum(self.counts[(s, cohort)] for s in STATUSES)


def check_totals(rows: list[ResultRow], counts: Counter[tuple[str, str]]) -> TotalsCheck:
    """Count the run's children independently of the table and compare."""
    seen: Counter[str] = Counter(rid for r in rows for rid in r.child_record_ids)
    cells = sum(counts[(s, c)] for s in STATUSES for c in COHORTS)
    return TotalsCheck(
        exported=len(rows),
        distinct_children=len({r.child_key for r in rows}),
        duplicated_record_ids=sorted(rid for rid, n in seen.items() if n > 1),
        cell_sum=cells,
        status_total_sum=sum(sum(counts[(s, c)] for c in COHORTS) for s in STATUSES),
        cohort_total_sum=sum(sum(counts[(s, c)] for s in STATUSES) for c in COHORTS),
        unlisted=sum(n for (s, c), n in counts.items() if s not in STATUSES or c not in COHORTS),
    )


def deadlines(rows: list[ResultRow], settings: Settings, as_of: date) -> list[CohortDeadline]:
    """Each dated cohort's deadline (from the settings), days left at the report date, children."""
    cells: dict[str, dict[str, int]] = {}
    for r in rows:
        by = cells.setdefault(r.cohort, {})
        by[r.status] = by.get(r.status, 0) + 1
    return deadlines_of(cells, settings, as_of)


def compare_runs(
    before: Iterable[HistoryRow], after: Iterable[HistoryRow], names: dict[str, str] | None = None
) -> Changes:
    """The change lists between two runs' history rows (names by child key, when wanted)."""
    old = {h.child_key: h for h in before}
    new = {h.child_key: h for h in after}
    names = names or {}
    changes = Changes(previous=None)
    for key in sorted(new):
        now = new[key]
        name = names.get(key)
        was = old.get(key)
        if was is None:
            changes.new_children.append(ChildChange(key, None, now.status, name))
            continue
        if now.status == "reunified" and was.status != "reunified":
            changes.newly_reunified.append(ChildChange(key, was.status, now.status, name))
        if now.location_state == "removed" and was.location_state != "removed":
            changes.newly_removed.append(ChildChange(key, was.location_state, now.location_state, name))
        if not now.resolved and was.resolved:
            changes.newly_unresolved.append(ChildChange(key, was.location_state, now.location_state, name))
        if now.status != was.status:
            changes.status_changes.append(ChildChange(key, was.status, now.status, name))
    for key in sorted(set(old) - set(new)):
        changes.gone_children.append(ChildChange(key, old[key].status, None))
    return changes


def worklist(rows: list[ResultRow], with_names: bool) -> list[WorkItem]:
    """Unresolved parent locations, longest unresolved first (unknown durations last)."""
    items = []
    for r in rows:
        loc = r.parent_location
        if loc.resolved:
            continue
        items.append(
            WorkItem(
                child_record_ids=list(r.child_record_ids),
                parent_record_ids=list(r.parent.record_ids) if r.parent else [],
                status=r.status,
                state=loc.state,
                country=loc.country,
                since=loc.since,
                days_unresolved=loc.days_unresolved,
                child_name=r.name if with_names else None,
                parent_name=r.parent.name if with_names and r.parent else None,
            )
        )
    items.sort(key=lambda w: (w.days_unresolved is None, -(w.days_unresolved or 0), w.child_record_ids[0]))
    return items


def build_report(
    store: Store, settings: Settings, run_id: str | None = None, *, with_names: bool = False
) -> Report:
    """Gather the report of a succeeded run (default: the latest) from the store."""

    run = resolve_run(store, run_id)
    rows = list(result_rows(store, run.id))
    counts: Counter[tuple[str, str]] = Counter((r.status, r.cohort) for r in rows)
    previous = store.previous_succeeded_run(run.id)
    names = {r.child_key: r.name for r in rows if r.name is not None} if with_names else None
    if previous is not None:
        changes = compare_runs(
            store.iter_history(run_id=previous.id), store.iter_history(run_id=run.id), names
        )
    else:
        changes = Changes(previous=None)
    changes.previous = previous
    return Report(
        run=run,
        with_names=with_names,
        counts=counts,
        check=check_totals(rows, counts),
        deadlines=deadlines(rows, settings, run.as_of),
        changes=changes,
        worklist=worklist(rows, with_names),
        trend=store.run_totals(),
        generated_at=datetime.now(UTC),
        cases=case_figures(store, settings, run.id),
    )


# --------------------------------------------------------------------------- rendering


def _days(n: int) -> str:
    if n > 0:
        return f"{n} days left"
    if n == 0:
        return "due today"
    return f"passed {-n} days ago"


def _status_rows(report: Report) -> list[list[object]]:
    rows: list[list[object]] = []
    for s in STATUSES:
        rows.append([s, *(report.counts[(s, c)] for c in COHORTS), report.status_total(s)])
    rows.append(
        ["total", *(report.cohort_total(c) for c in COHORTS), sum(report.cohort_total(c) for c in COHORTS)]
    )
    return rows


def _deadline_rows(report: Report) -> list[list[object]]:
    return [
        [
            d.cohort,
            d.deadline.isoformat(),
            _days(d.days_left),
            d.children,
            d.reunified,
            d.not_reunified,
            d.eligible,
        ]
        for d in report.deadlines
    ]


_NOT_TEXT = frozenset({rendering.MARKDOWN, rendering.HTML})
_DEADLINE_HEAD = (
    "cohort",
    "court deadline",
    "days left",
    "children",
    "reunified",
    "not yet reunified",
    "eligible now",
)


def _change_head(report: Report) -> str:
    prev = report.changes.previous
    if prev is None:
        return "no earlier successful run: nothing to compare"
    return f"since run {prev.id} (report date {prev.as_of.isoformat()})"


def _change_text(c: ChildChange, with_names: bool) -> str:
    who = f"{c.child_key} ({c.name})" if with_names and c.name else c.child_key
    if c.before is None:
        return f"{who}: {c.after}"
    if c.after is None:
        return f"{who}: was {c.before}"
    return f"{who}: {c.before} -> {c.after}"


def _work_head(report: Report) -> list[str]:
    head = ["child record ids", "parent record ids", "status", "state", "country", "since", "days unresolved"]
    if report.with_names:
        head += ["child name", "parent name"]
    return head


def _work_rows(report: Report) -> list[list[object]]:
    rows: list[list[object]] = []
    for w in report.worklist:
        row: list[object] = [
            ids(w.child_record_ids),
            ids(w.parent_record_ids),
            w.status,
            w.state,
            w.country or "-",
            w.since or "-",
            "-" if w.days_unresolved is None else w.days_unresolved,
        ]
        if report.with_names:
            row += [w.child_name or "-", w.parent_name or "-"]
        rows.append(row)
    return rows


_NO_CASES = "case work is kept for the latest published run only"

_CSS = """
body{font-family:system-ui,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d1d1d;max-width:1200px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
h3{font-size:14px;margin:14px 0 4px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #d0d0d0;padding:3px 8px;text-align:left} td.n,th.n{text-align:right}
tr.total td{font-weight:bold;background:#f3f3f3}
.check{padding:6px 10px;border-radius:4px;display:inline-block;font-size:13px}
.ok{background:#e3f4e1;border:1px solid #7bb874}.failed{background:#fbe3e3;border:1px solid #d77}
.sub{color:#555;font-size:13px} .charts{display:flex;flex-wrap:wrap;gap:24px} figure{margin:0}
figcaption{font-size:13px;font-weight:bold;margin-bottom:4px} ul{font-size:13px;margin:2px 0}
""".strip()


def _case_section(report: Report) -> Section:
    title = "Parents to locate: the case work by cohort"
    if report.cases is None:
        return Section(title, [Paragraph(_NO_CASES, formats=_NOT_TEXT)], text_title=f"Case work: {_NO_CASES}")
    right = tuple(range(1, len(FIGURE_HEAD)))
    return Section(
        title,
        [
            Table(list(FIGURE_HEAD), report.cases.rows(), right, id="case-figures"),
            Check(report.cases.check_text(), report.cases.checks(), id="case-check"),
        ],
    )


def _changes_section(report: Report) -> Section:
    lists = [
        (title, [_change_text(c, report.with_names) for c in items])
        for title, items in (report.changes.sections() if report.changes.previous is not None else [])
    ]
    return Section(
        "Changes", [ItemLists(lists, ("change", "children"), id="changes")], lead=_change_head(report)
    )


def document(report: Report) -> Document:
    """The report's sections as data, for every renderer."""
    trend = [(t.run_id, t.as_of.isoformat(), t.unresolved, t.children) for t in report.trend]
    worklist = f"Worklist: {len(report.worklist)} unresolved parent locations"
    sections = [
        Section(
            "Children by status and cohort",
            [
                Table(["status", *COHORTS, "total"], _status_rows(report), (1, 2, 3, 4), id="status-table"),
                Check(report.check.text(), report.check.ok, id="totals-check"),
                Charts(
                    [
                        ("Status by cohort", charts.status_by_cohort(report.counts, STATUSES, COHORTS)),
                        ("Unresolved parent locations over runs", charts.unresolved_over_runs(trend)),
                    ]
                ),
            ],
        ),
        Section(
            "Court deadlines", [Table(_DEADLINE_HEAD, _deadline_rows(report), (3, 4, 5, 6), id="deadlines")]
        ),
        _case_section(report),
        _changes_section(report),
        Section(
            worklist,
            [Table(_work_head(report), _work_rows(report), (6,), id="worklist")],
            text_title=f"{worklist}, longest unresolved first",
        ),
    ]
    return Document(
        title=f"Reunify status report as of {report.as_of.isoformat()}",
        subtitle=_subtitle(report),
        sections=sections,
        footer=f"generated {report.generated_at.isoformat(timespec='seconds')}",
        css=_CSS,
    )


def _subtitle(report: Report) -> str:
    finished = report.run.finished_at.isoformat(timespec="seconds") if report.run.finished_at else "-"
    names = "names shown (--with-names)" if report.with_names else "names withheld (use --with-names)"
    return f"run {report.run.id}, published {finished}; {names}"


def render_text(report: Report) -> str:
    """The report as terminal text."""
    return rendering.render_text(document(report))


def render_markdown(report: Report) -> str:
    """The report as Markdown."""
    return rendering.render_markdown(document(report))


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page: inline CSS and SVG charts, no scripts or assets."""
    return rendering.render_html(document(report))


__all__ = [
    "Changes",
    "ChildChange",
    "CohortDeadline",
    "Report",
    "TotalsCheck",
    "WorkItem",
    "build_report",
    "compare_runs",
    "document",
    "render_html",
    "render_markdown",
    "render_text",
]
