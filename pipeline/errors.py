"""Reunify's own exception hierarchy: every error an operator sees is one of these."""

from __future__ import annotations

from collections.abc import Sequence


class ReunifyError(Exception):
    """Base class of every error Reunify raises on purpose."""


class ConfigError(ReunifyError):
    """A setting is missing or invalid; the message names the variable."""


class FeedError(ReunifyError):
    """A feed could not be read. ``feed`` names it (orr, ice, removals, dna)."""

    def __init__(self, feed: str, message: str) -> None:
        super().__init__(f"{feed} feed: {message}")
        self.feed = feed


class FeedAuthError(FeedError):
    """The feed refused our token (401/403). The token itself is never included."""

    def __init__(self, feed: str, status: int) -> None:
        super().__init__(
            feed,
            f"token refused (HTTP {status}); check REUNIFY_{feed.upper()}_TOKEN",
        )
        self.status = status


class FeedUnavailableError(FeedError):
    """The feed kept failing after every retry (5xx, 429, timeouts, dropped connections)."""


class FeedProtocolError(FeedError):
    """The feed answered with something that is not the contract's shape (a whole page, not a record)."""


class FeedIncompleteError(FeedError):
    """The feed ended short of what it announced (fewer records than its total): nothing it gave
    may be published as the feed's whole state."""


class FeedLimitError(FeedError):
    """A fetch went past one of its limits (time budget, pages, response size); the message names
    the limit and the setting that raises it."""


class MalformedRecord(ReunifyError):
    """One record breaks the contract; it is quarantined with this reason and the run goes on."""

    def __init__(self, reason: str, record_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.record_id = record_id


class JSONDepthError(ReunifyError, ValueError):
    """JSON nests deeper than :data:`pipeline.jsontext.MAX_DEPTH` where no single record can be set
    aside (a record that does is quarantined; a page that does outside its records is not read)."""


class StoreError(ReunifyError):
    """The results store failed or holds something unexpected."""


class RunInProgressError(ReunifyError):
    """Another run holds the run lock."""


class RunFailedError(ReunifyError):
    """A run ended in failure; the message says why. The last good results are untouched.

    ``run_id`` names the failed run where one was recorded (``reunify run --json`` reports it)."""

    def __init__(self, message: str, run_id: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id


class PublishRefused(RunFailedError):
    """A publish gate (``pipeline.gates``) stopped the run before publishing: a feed shrank against
    the last good run, or too many of its records were quarantined. The message names each feed
    and its numbers and says how to accept a real drop; ``feeds`` lists the refused feeds. The run
    is recorded as failed and refused (``RunInfo.outcome``), its gate checks kept
    (``Store.list_gate_checks``)."""

    def __init__(self, message: str, feeds: Sequence[str], run_id: str | None = None) -> None:
        super().__init__(message, run_id)
        self.feeds: tuple[str, ...] = tuple(feeds)


class NotFoundError(ReunifyError):
    """A run, child or record an operator named is not in the store; the message says what to check."""


class AccessError(ReunifyError):
    """A console login or user change that cannot be done (the message says why, never a password)."""


class NothingToCancel(ReunifyError):
    """``reunify cancel`` found no run to cancel: none is in progress, or the named run has ended
    already (the message says which, and its outcome)."""


class RunCancelled(RunFailedError):
    """The run was cancelled by an operator (``reunify cancel``) before it published; the last good
    results are untouched. The message says who cancelled it and why."""


class MatchStateError(ReunifyError):
    """The matching state a run's steps hand each other (``pipeline.match.state``) was written by
    another version of the matcher (its version or its comparisons differ): the steps of one run
    cannot mix versions. The message says what differs and what to do."""
