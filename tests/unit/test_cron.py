"""The schedule of scheduled runs: cron fields read once, slots, the longest gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.cron import parse_schedule
from pipeline.errors import ConfigError


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_six_hours_on_the_hour_fires_at_the_next_slot_whenever_it_is_asked() -> None:
    schedule = parse_schedule("0 */6 * * *")
    assert schedule.next_after(at("2026-12-02T10:28:35")) == at("2026-12-02T12:00:00")
    assert schedule.next_after(at("2026-12-02T12:00:00")) == at("2026-12-02T18:00:00")
    assert schedule.next_after(at("2026-12-02T23:59:00")) == at("2026-12-03T00:00:00")
    assert schedule.interval == timedelta(hours=6)


def test_the_interval_is_the_longest_gap_between_slots() -> None:
    assert parse_schedule("0 1,13 * * *").interval == timedelta(hours=12)
    assert parse_schedule("0 9 * * 1-5").interval == timedelta(days=3)  # Friday 9:00 to Monday 9:00
    assert parse_schedule("*/15 * * * *").interval == timedelta(minutes=15)
    assert parse_schedule("@every 90s").interval == timedelta(seconds=90)


def test_weekdays_count_from_sunday_and_seven_is_sunday_too() -> None:
    sunday = at("2026-12-06T08:00:00")
    assert parse_schedule("0 8 * * 0").fires_at(sunday)
    assert parse_schedule("0 8 * * 7").fires_at(sunday)
    assert not parse_schedule("0 8 * * 1").fires_at(sunday)


@pytest.mark.parametrize(
    "expression",
    [
        "0 */6 * *",
        "60 * * * *",
        "0 24 * * *",
        "0 0 31 2 *",
        "0 0 1 * 1",
        "every 6h",
        "*/0 * * * *",
        "a b c d e",
    ],
)
def test_a_schedule_that_is_not_one_is_refused_naming_the_setting(expression: str) -> None:
    with pytest.raises(ConfigError, match="REUNIFY_SCHEDULE_CRON"):
        parse_schedule(expression)
