"""A run's progress inside its stages: what the steps report, how often, and how the CLI draws it.

The stage functions of ``pipeline.run`` call a ``ProgressFn`` with
``(stage, feed or None, counts or None)`` as they work: records fetched so far per feed, partition
i of n and the children linked in it, the children finished. Counts only: no record of a person
ever goes through it. Two consumers:

- a Celery task turns each call into task state its monitor shows (``workers.tasks``), through
  ``Throttle`` so that a fetch of thousands of pages does not flood the result backend;
- ``reunify run`` draws it on stderr (``Progress``), for the in-process runner directly and for a
  run through workers from what the store records (feed counts, steps done of the stage).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TextIO

# Called with (stage, feed or None, counts or None) as a run moves (pipeline.run's stage functions).
ProgressFn = Callable[[str, str | None, Mapping[str, int] | None], None]

# the stages after fetching, shown as they start (in-process: reconcile; through workers:
# prepare, match, finish), then publish
LATER_STAGES = ("reconcile", "prepare", "match", "finish", "publish")
# "fetched": a feed's fetch ended (its final counts); a line of its own, never throttled
FETCHED = "fetched"
# Off a terminal (a log file, CI), at most one in-stage line per this many seconds.
PLAIN_LINE_SECONDS = 5.0


class Throttle:
    """Pass progress on at most once per ``seconds``; the first call, a feed's final counts
    (``fetched``) and each new stage always pass (the last word of a stage is never lost)."""

    def __init__(
        self, report: ProgressFn, seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._report, self._seconds, self._clock = report, seconds, clock
        self._last: float | None = None
        self._stage: str | None = None

    def __call__(self, stage: str, feed: str | None, counts: Mapping[str, int] | None) -> None:
        now = self._clock()
        due = self._last is None or now - self._last >= self._seconds
        if due or stage == FETCHED or stage != self._stage:
            self._last, self._stage = now, stage
            self._report(stage, feed, counts)


def describe(stage: str, counts: Mapping[str, int] | None) -> str:
    """The in-stage part of a progress line: ``partition 2 of 4: 1,200 of 5,000 children linked``."""
    if not counts:
        return ""
    if "partitions" in counts:
        part = f"partition {counts.get('partition', 0)} of {counts['partitions']}"
        if "children" in counts:
            return f"{part}: {counts.get('linked', 0):,} of {counts['children']:,} children linked"
        return part
    if "steps" in counts:  # through workers: the stage's steps done so far (from the store)
        return f"{counts.get('done', 0)} of {counts['steps']} {stage} steps done"
    if "children" in counts:
        return f"{counts['children']:,} children"
    return ""


class Progress:
    """Draws a run's progress on ``out`` (stderr: stdout holds only the summary or the JSON).

    One line per feed fetched and per stage; inside a stage (records so far, partition i of n) a
    terminal gets the line rewritten in place, anything else a plain line at most every
    ``PLAIN_LINE_SECONDS``.
    """

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.tty = out.isatty()
        self.feeds: dict[str, dict[str, int]] = {}
        self.stage = "fetch"
        self.detail = ""
        self._clock = clock
        self.started = clock()
        self._last = ""
        self._plain_at = -PLAIN_LINE_SECONDS
        self._open = False  # a line rewritten in place is on the terminal, without its newline

    def __call__(self, stage: str, feed: str | None, counts: Mapping[str, int] | None) -> None:
        if feed is not None and counts is not None:
            self.feeds[feed] = dict(counts)
            self._emit(final=stage == FETCHED)
            return
        if stage in LATER_STAGES and stage != self.stage:
            self.stage, self.detail = stage, describe(stage, counts)
            self._emit(final=True)
            return
        detail = describe(stage, counts)
        if detail and detail != self.detail:
            self.detail = detail
            self._emit(final=False)

    def note(self, text: str) -> None:
        """A line of its own (a notice), after the line being rewritten."""
        if self._open:
            self.out.write("\n")
            self._open = False
        self.out.write(text.rstrip("\n") + "\n")
        self.out.flush()

    def close(self) -> None:
        """End the line being rewritten, if any (before the summary or an error)."""
        if self._open:
            self.out.write("\n")
            self.out.flush()
            self._open = False

    def _line(self) -> str:
        elapsed = self._clock() - self.started
        if self.stage == "fetch":
            parts = [f"{feed} {c.get('fetched', 0):,}" for feed, c in sorted(self.feeds.items())]
            body = "  ".join(parts)
        else:
            body = self.detail
        return f"[{elapsed:6.1f}s] {self.stage:<9} {body}".rstrip()

    def _emit(self, final: bool) -> None:
        line = self._line()
        if line == self._last:
            return
        if self.tty:
            self._last = line
            self.out.write("\r\x1b[2K" + line + ("\n" if final else ""))
            self._open = not final
        else:
            now = self._clock()
            if not final and now - self._plain_at < PLAIN_LINE_SECONDS:
                return  # off a terminal, not a line per page: one every few seconds
            self._last, self._plain_at = line, now
            self.out.write(line + "\n")
        self.out.flush()
