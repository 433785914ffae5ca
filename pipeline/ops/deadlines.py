"""The court's deadlines per cohort, from counts of children per cohort and status: one
computation for the report, the dashboard and the case figures (which the report shows, so it
cannot live in the report module without a cycle)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pipeline.settings import Settings


@dataclass(frozen=True, slots=True)
class CohortDeadline:
    """A cohort's court deadline and how far its children are from it."""

    cohort: str
    deadline: date
    days_left: int
    children: int
    reunified: int
    eligible: int

    @property
    def not_reunified(self) -> int:
        """Children of the cohort not (yet) reunified."""
        return self.children - self.reunified


def deadlines_of(cells: dict[str, dict[str, int]], settings: Settings, as_of: date) -> list[CohortDeadline]:
    """Each dated cohort's deadline, days left and children reached, from counts of children per
    cohort and status (cohort -> status -> n)."""
    out = []
    for cohort, deadline in (
        ("under_5", settings.deadline_under_5),
        ("5_and_over", settings.deadline_5_and_over),
    ):
        mine = cells.get(cohort, {})
        out.append(
            CohortDeadline(
                cohort=cohort,
                deadline=deadline,
                days_left=(deadline - as_of).days,
                children=sum(mine.values()),
                reunified=mine.get("reunified", 0),
                eligible=mine.get("eligible", 0),
            )
        )
    return out
