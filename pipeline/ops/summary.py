"""The court's questions at a glance, for one published run: children, statuses by cohort, the
reasons children are not yet reunifiable, parents to locate, each cohort's deadline, and the trend
over runs. Aggregates only (no personal data): what a ``viewer`` of the console may see.

Every figure is a GROUP BY over the run's ``result_history`` rows, never a pass over payloads, so
the dashboard costs the same at 100,000 children as at 1,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.ops.cases import CaseFigures, case_figures, figures_json
from pipeline.ops.common import resolve_run
from pipeline.ops.deadlines import CohortDeadline, deadlines_of
from pipeline.results import BLOCKED_STATUSES, COHORTS, STATUS_WORDS, STATUSES
from pipeline.settings import Settings
from pipeline.store import RunInfo, Store
from pipeline.store.browse import distinct_unresolved_parents
from pipeline.store.models import RunTotals


@dataclass(frozen=True, slots=True)
class Summary:
    """The figures of one succeeded run."""

    run: RunInfo
    children: int
    by_status: dict[str, int]
    by_cohort_status: dict[str, dict[str, int]]
    unresolved_locations: int
    needs_review: int
    parents_to_locate: int
    deadlines: list[CohortDeadline]
    trend: list[RunTotals]
    cases: CaseFigures | None = None  # case work per cohort (pipeline/ops/cases.py): aggregates

    @property
    def blocked(self) -> list[tuple[str, str, int]]:
        """(status, plain words, children) of each reason a child is not yet reunifiable."""
        return [(s, STATUS_WORDS[s], self.by_status.get(s, 0)) for s in BLOCKED_STATUSES]

    def checks(self) -> bool:
        """True when the status buckets and the cohort buckets each sum to the children shown."""
        cells = sum(n for by in self.by_cohort_status.values() for n in by.values())
        return sum(self.by_status.values()) == cells == self.children


def build_summary(store: Store, settings: Settings, run_id: str | None = None) -> Summary:
    """The summary of a succeeded run (default: the latest); ReunifyError when there is none."""
    run = resolve_run(store, run_id)
    totals = store.result_totals(run.id)
    counts = totals.by_cohort_status
    return Summary(
        run=run,
        children=totals.children,
        by_status={s: totals.by_status.get(s, 0) for s in STATUSES},
        by_cohort_status={c: {s: counts.get(c, {}).get(s, 0) for s in STATUSES} for c in COHORTS},
        unresolved_locations=totals.unresolved,
        needs_review=totals.needs_review,
        parents_to_locate=distinct_unresolved_parents(store, run.id),
        deadlines=deadlines_of(counts, settings, run.as_of),
        trend=store.run_totals(),
        cases=case_figures(store, settings, run.id),
    )


def summary_json(summary: Summary) -> dict[str, Any]:
    """The JSON of ``GET /api/summary`` (CONTRACT section 6)."""
    return {
        "run_id": summary.run.id,
        "as_of": summary.run.as_of.isoformat(),
        "children": summary.children,
        "by_status": summary.by_status,
        "by_cohort_status": summary.by_cohort_status,
        "unresolved_locations": summary.unresolved_locations,
        "needs_review": summary.needs_review,
        "parents_to_locate": summary.parents_to_locate,
        "not_yet_reunifiable": {s: n for s, _, n in summary.blocked},
        "deadlines": [
            {
                "cohort": d.cohort,
                "deadline": d.deadline.isoformat(),
                "days_left": d.days_left,
                "children": d.children,
                "reunified": d.reunified,
                "not_reunified": d.not_reunified,
                "eligible": d.eligible,
            }
            for d in summary.deadlines
        ],
        "cases": figures_json(summary.cases) if summary.cases is not None else None,
        "trend": [
            {
                "run_id": t.run_id,
                "as_of": t.as_of.isoformat(),
                "children": t.children,
                "unresolved": t.unresolved,
                "by_status": t.by_status,
            }
            for t in summary.trend
        ],
    }
