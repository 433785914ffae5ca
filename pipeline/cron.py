"""The schedule of scheduled runs: a five-field cron expression (UTC), or ``@every <N>s|m|h``.

Beat fires by cron (``workers/schedule.py`` hands the same fields to Celery's ``crontab``), so a
restarted or recreated beat still fires at the next slot; an ``@every`` interval restarts its
clock with beat and is meant for tests and demos. This module reads the expression once, checks
it, and answers what alerts and checks need: the longest gap between two slots (``interval``)
and the next slot after a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

from pipeline.errors import ConfigError

# (name, lowest, highest) of each field, in cron order
_FIELDS: tuple[tuple[str, int, int], ...] = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),  # 0 and 7 are both Sunday
)
_EVERY = re.compile(r"^@every\s+(\d+(?:\.\d+)?)\s*([smh])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
# the longest cycle a five-field expression can have that matters here is a year; a week plus a
# day covers every expression whose slots repeat daily or weekly, and a leap year covers the rest
_HORIZON_DAYS = 366 * 4


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"bad step in the {name} field")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            if not (a.isdigit() and b.isdigit()):
                raise ValueError(f"bad range in the {name} field")
            start, end = int(a), int(b)
        elif part.isdigit():
            start = end = int(part)
            if step != 1:
                end = high
        else:
            raise ValueError(f"bad {name} field {part!r}")
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise ValueError(f"the {name} field must be within {low}-{high}")
        values.update(range(start, end + 1, step))
    if name == "day of week" and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule. ``cron`` holds the five fields as written (for Celery's crontab);
    ``every`` is set instead for an ``@every`` interval."""

    expression: str
    cron: tuple[str, str, str, str, str] | None = None
    every: timedelta | None = None

    @cached_property
    def _sets(self) -> tuple[frozenset[int], ...]:
        assert self.cron is not None
        return tuple(_field(text, *spec) for text, spec in zip(self.cron, _FIELDS, strict=True))

    def fires_at(self, when: datetime) -> bool:
        """True when a cron schedule has a slot at this minute (UTC)."""
        if self.cron is None:
            raise ValueError("an @every schedule has no fixed slots")
        minute, hour, dom, month, dow = self._sets
        when = when.astimezone(UTC)
        weekday = (when.weekday() + 1) % 7  # cron: 0 is Sunday
        day_ok = when.day in dom and weekday in dow  # parse_schedule refuses both restricted
        return when.minute in minute and when.hour in hour and when.month in month and day_ok

    def next_after(self, when: datetime) -> datetime:
        """The first slot strictly after ``when`` (an ``@every`` schedule: ``when`` + interval)."""
        if self.every is not None:
            return when + self.every
        minute_sets = self._sets
        t = when.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = t + timedelta(days=_HORIZON_DAYS)
        hours, months = minute_sets[1], minute_sets[3]
        while t < end:
            if t.month not in months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if t.hour not in hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if self.fires_at(t):
                return t
            t += timedelta(minutes=1)
        raise ValueError(f"the schedule {self.expression!r} never fires")

    @cached_property
    def interval(self) -> timedelta:
        """The longest gap between two consecutive slots (what "twice the schedule interval"
        means for alerts and ``reunify status --check``)."""
        if self.every is not None:
            return self.every
        start = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday in a leap year
        last, longest = self.next_after(start), timedelta(0)
        end = start + timedelta(days=8)
        while last < end:
            nxt = self.next_after(last)
            longest = max(longest, nxt - last)
            last = nxt
        return longest


def parse_schedule(expression: str, key: str = "REUNIFY_SCHEDULE_CRON") -> Schedule:
    """Read a schedule; ConfigError naming ``key`` when it is not one."""
    text = " ".join(expression.split())
    every = _EVERY.match(text)
    if every:
        seconds = float(every.group(1)) * _UNIT_SECONDS[every.group(2)]
        if seconds <= 0:
            raise ConfigError(f"{key}: an @every interval must be positive, got {expression!r}")
        return Schedule(text, every=timedelta(seconds=seconds))
    parts = text.split(" ")
    if len(parts) != 5:
        raise ConfigError(
            f"{key} must be five cron fields (minute hour day-of-month month day-of-week, UTC) "
            f"or '@every N[s|m|h]', got {expression!r}"
        )
    if parts[2] != "*" and parts[4] != "*":
        # cron ORs the two day fields when both are set, Celery's crontab ANDs them: refuse the
        # ambiguity rather than fire on days the operator did not mean
        raise ConfigError(
            f"{key}: restrict the day of month or the day of week, not both (got {expression!r})"
        )
    schedule = Schedule(text, cron=(parts[0], parts[1], parts[2], parts[3], parts[4]))
    try:
        schedule.interval  # noqa: B018 - parses every field and proves the schedule fires
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc} (got {expression!r})") from exc
    return schedule
