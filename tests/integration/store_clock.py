"""A clock the tests move by hand, given to a Store (``Store(url, clock=...)``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2018, 7, 12, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0.0, **kwargs: float) -> None:
        self.now += timedelta(seconds=seconds, **kwargs)
