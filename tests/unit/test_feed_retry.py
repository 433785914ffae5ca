"""FeedClient retry policy without a network: predicate, Retry-After, backoff, bounds, translation."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from pipeline.errors import FeedAuthError, FeedProtocolError, FeedUnavailableError
from pipeline.feeds.http import (
    BadPage,
    FeedClient,
    RetryableStatus,
    RetryPolicy,
    format_since,
    is_retryable,
    is_retryable_status,
    parse_retry_after,
)
from pipeline.feeds.removals import since_date
from pipeline.settings import FeedSettings

NOW = datetime(2018, 7, 12, 12, 0, tzinfo=UTC)
SECRET = "unit-test-token-do-not-leak"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        ("2", 2.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        (RetryableStatus(503), True),
        (RetryableStatus(429, 1.0), True),
        (BadPage("not JSON"), True),
        (requests.ConnectionError("reset"), True),
        (requests.ConnectTimeout("slow"), True),
        (requests.ReadTimeout("slow"), True),
        (requests.exceptions.ChunkedEncodingError("dropped"), True),
        (requests.exceptions.ContentDecodingError("gzip"), True),
        (FeedAuthError("orr", 401), False),
        (FeedProtocolError("orr", "HTTP 404"), False),
        (requests.exceptions.InvalidURL("bad"), False),
        (ValueError("bug"), False),
    ],
)
def test_retry_predicate(exc: BaseException, retry: bool) -> None:
    assert is_retryable(exc) is retry


@pytest.mark.parametrize(
    ("status", "retry"),
    [
        *[(429, True), (408, True), (500, True), (502, True), (503, True), (504, True), (599, True)],
        *[(400, False), (401, False), (403, False), (404, False), (409, False), (200, False)],
    ],
)
def test_retryable_statuses(status: int, retry: bool) -> None:
    assert is_retryable_status(status) is retry


def test_wait_honours_retry_after_capped_else_exponential_backoff_with_jitter() -> None:
    policy = RetryPolicy(backoff_initial=0.5, backoff_max=4.0, jitter=0.25, retry_after_cap=10.0)
    rng = random.Random(1)
    assert policy.wait_for(RetryableStatus(429, 3.0), 1, rng) == 3.0
    assert policy.wait_for(RetryableStatus(429, 100.0), 1, rng) == 10.0
    assert policy.wait_for(RetryableStatus(429, 0.0), 5, rng) == 0.0
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        wait = policy.wait_for(RetryableStatus(503), attempt, rng)
        assert base <= wait <= base + 0.25


def _client(policy: RetryPolicy, sleeps: list[float]) -> FeedClient:
    return FeedClient(
        FeedSettings("ice", "http://feed.invalid/ice", SECRET), policy=policy, sleep=sleeps.append
    )


def _failing(errors: list[BaseException], result: str = "page") -> tuple[Callable[[], str], list[int]]:
    calls = [0]

    def fn() -> str:
        calls[0] += 1
        if errors:
            raise errors.pop(0)
        return result

    return fn, calls


def test_transient_failures_are_retried_until_success() -> None:
    sleeps: list[float] = []
    client = _client(RetryPolicy(backoff_initial=0.1, jitter=0.0), sleeps)
    fn, calls = _failing([RetryableStatus(503), requests.ConnectionError(), RetryableStatus(429, 0.5)])
    assert client._retry(fn, "page 1") == "page"
    assert calls[0] == 4
    assert sleeps == [0.1, 0.2, 0.5]


def test_attempts_are_bounded_and_the_error_says_what_kept_failing() -> None:
    sleeps: list[float] = []
    client = _client(RetryPolicy(max_attempts=5, backoff_initial=0.0, jitter=0.0), sleeps)
    errors: list[BaseException] = [RetryableStatus(502)] * 3 + [requests.ReadTimeout()] * 10
    fn, calls = _failing(errors)
    with pytest.raises(FeedUnavailableError) as info:
        client._retry(fn, "detainees page 3")
    assert calls[0] == 5 and len(sleeps) == 4
    message = str(info.value)
    assert message.startswith("ice feed: detainees page 3: gave up after 5 attempts")
    assert "HTTP 502 x3" in message and "timeout x2" in message
    assert SECRET not in message and SECRET not in repr(info.value.__cause__)


def test_total_time_is_bounded_before_sleeping_past_it() -> None:
    sleeps: list[float] = []
    client = _client(RetryPolicy(max_attempts=100, max_seconds=5.0, backoff_initial=2.0, jitter=0.0), sleeps)
    fn, calls = _failing([RetryableStatus(500)] * 100)
    with pytest.raises(FeedUnavailableError):
        client._retry(fn, "page")
    assert sleeps == [2.0] and calls[0] == 2  # a second sleep (4 s) would pass the 5 s bound


def test_a_long_retry_after_is_capped() -> None:
    sleeps: list[float] = []
    client = _client(RetryPolicy(retry_after_cap=1.5), sleeps)
    fn, _ = _failing([RetryableStatus(429, 3600.0)])
    assert client._retry(fn, "page") == "page"
    assert sleeps == [1.5]


@pytest.mark.parametrize(
    "error", [FeedAuthError("ice", 401), FeedProtocolError("ice", "HTTP 404"), KeyError("x")]
)
def test_non_transient_errors_are_never_retried(error: Exception) -> None:
    sleeps: list[float] = []
    fn, calls = _failing([error])
    with pytest.raises(type(error)):
        _client(RetryPolicy(), sleeps)._retry(fn, "page")
    assert calls[0] == 1 and sleeps == []


def test_bad_pages_get_a_few_tries_then_a_protocol_error() -> None:
    sleeps: list[float] = []
    client = _client(
        RetryPolicy(max_attempts=8, protocol_attempts=3, backoff_initial=0.0, jitter=0.0), sleeps
    )
    fn, calls = _failing([BadPage("page has no 'detainees' list")] * 5)
    with pytest.raises(FeedProtocolError, match="no 'detainees' list"):
        client._retry(fn, "page")
    assert calls[0] == 3


def test_auth_error_names_the_feed_not_the_token() -> None:
    error = FeedAuthError("ice", 403)
    assert str(error) == "ice feed: token refused (HTTP 403); check REUNIFY_ICE_TOKEN"
    client = _client(RetryPolicy(), [])
    assert SECRET not in repr(client) and SECRET not in repr(client._session.auth)


def test_links_must_stay_on_the_feeds_origin() -> None:
    client = _client(RetryPolicy(), [])
    assert client.url("/v1/detainees") == "http://feed.invalid/ice/v1/detainees"
    assert client.url("http://feed.invalid/ice/v1/x?page=2") == "http://feed.invalid/ice/v1/x?page=2"
    with pytest.raises(FeedProtocolError, match="outside the feed"):
        client.url("http://elsewhere.invalid/steal")


def test_since_formats() -> None:
    assert format_since(None) is None
    assert format_since(date(2018, 6, 1)) == "2018-06-01T00:00:00Z"
    assert format_since(datetime(2018, 6, 1, 12, 30, 15, 999)) == "2018-06-01T12:30:15Z"
    eastern = timezone(timedelta(hours=-4))
    assert format_since(datetime(2018, 6, 1, 22, 0, tzinfo=eastern)) == "2018-06-02T02:00:00Z"
    assert since_date(datetime(2018, 6, 1, 22, 0, tzinfo=eastern)) == "2018-06-02"
    assert since_date(date(2018, 6, 1)) == "2018-06-01"
    assert since_date(None) is None
