"""Progress inside a run's stages: the throttle the tasks report through, the CLI's progress lines
(rewritten in place on a terminal, few plain lines elsewhere), and linking in slices giving the
same links as linking a partition at once."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date

import pytest

from pipeline import reconcile
from pipeline.progress import PLAIN_LINE_SECONDS, Progress, Throttle, describe
from pipeline.sim.world import generate_world


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_throttle_passes_one_report_a_second_but_never_drops_a_stage_or_a_feeds_last_counts() -> None:
    clock = Clock()
    seen: list[tuple[str, str | None, Mapping[str, int] | None]] = []
    report = Throttle(lambda *a: seen.append(a), 1.0, clock)
    for page in range(50):  # fifty pages within half a second: one report
        clock.now = page * 0.01
        report("fetch", "orr", {"fetched": page})
    report("fetched", "orr", {"fetched": 50})  # the feed's final counts always pass
    clock.now = 0.6
    report("match", None, {"partition": 1})  # a new stage always passes
    report("match", None, {"partition": 1, "linked": 10})  # too soon
    clock.now = 1.7
    report("match", None, {"partition": 1, "linked": 20})
    assert seen == [
        ("fetch", "orr", {"fetched": 0}),
        ("fetched", "orr", {"fetched": 50}),
        ("match", None, {"partition": 1}),
        ("match", None, {"partition": 1, "linked": 20}),
    ]


@pytest.mark.parametrize(
    ("stage", "counts", "text"),
    [
        ("match", {"partition": 2, "partitions": 4, "children": 5000, "linked": 1200},
         "partition 2 of 4: 1,200 of 5,000 children linked"),
        ("match", {"steps": 4, "done": 3}, "3 of 4 match steps done"),
        ("finish", {"children": 2300}, "2,300 children"),
        ("publish", None, ""),
    ],
)  # fmt: skip
def test_progress_is_described_by_counts(stage: str, counts: dict[str, int] | None, text: str) -> None:
    assert describe(stage, counts) == text


def test_on_a_terminal_progress_is_rewritten_in_place_with_a_line_kept_per_feed_and_stage() -> None:
    out, clock = Tty(), Clock()
    progress = Progress(out, clock)
    progress("fetch", "orr", {"fetched": 100})
    progress("fetch", "orr", {"fetched": 200})
    progress("fetched", "orr", {"fetched": 250, "valid": 250, "quarantined": 0})
    progress("reconcile", None, None)
    progress("reconcile", None, {"partition": 1, "partitions": 2, "children": 80, "linked": 40})
    progress.close()
    text = out.getvalue()
    assert text.count("\r\x1b[2K") == 5
    kept = text.split("\n")
    assert "orr 250" in kept[0] and "reconcile" in kept[1]
    assert kept[2].endswith("partition 1 of 2: 40 of 80 children linked")


def test_off_a_terminal_progress_is_plain_lines_at_most_one_every_few_seconds_inside_a_stage() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(out, clock)
    for page in range(100):
        clock.now = page * 0.1  # ten seconds of pages
        progress("fetch", "ice", {"fetched": page * 500})
    progress("fetched", "ice", {"fetched": 50_000, "valid": 49_990, "quarantined": 10})
    lines = out.getvalue().splitlines()
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()
    assert len(lines) <= 10 / PLAIN_LINE_SECONDS + 2
    assert lines[-1].endswith("ice 50,000")


def test_linking_a_partition_in_slices_gives_the_same_links_and_reports_each_slice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = generate_world(120, seed=5)
    prep = reconcile.prepare(world.to_snapshot(), (), 1, date(2018, 7, 12))
    (part,) = prep.partitions
    cviews = [prep.cviews[i] for i in part.children]
    whole = reconcile.link_partition(prep.linker(), cviews, part, prep.dna_index)
    monkeypatch.setattr(reconcile, "LINK_SLICE", 7)
    told: list[tuple[int, int]] = []
    sliced = reconcile.link_partition(
        prep.linker(), cviews, part, prep.dna_index, progress=lambda done, n: told.append((done, n))
    )
    assert sum(f.outcome.link is not None for f in whole) > len(whole) / 2
    assert [f.outcome for f in sliced] == [f.outcome for f in whole]
    assert told[0] == (0, len(cviews)) and told[-1] == (len(cviews), len(cviews))
    assert len(told) == 1 + -(-len(cviews) // 7)
