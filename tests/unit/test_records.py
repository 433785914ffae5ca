"""The contract's rule for a record id seen more than once, shared by the store and in-process runs."""

from __future__ import annotations

from pipeline.records import keep_latest


def test_the_latest_update_wins_and_the_later_copy_on_a_tie() -> None:
    into: dict[str, tuple[str, str]] = {}
    keep_latest(
        [
            ("A", "2018-06-02", "a-new"),
            ("A", "2018-06-01", "a-stale"),
            ("B", "", "b-first"),
            ("B", "", "b-second"),
        ],
        into,
    )
    keep_latest([("A", "2018-06-02", "a-tie-later")], into)
    assert into == {"A": ("2018-06-02", "a-tie-later"), "B": ("", "b-second")}
