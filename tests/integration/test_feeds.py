"""Feed adapters against the HTTP simulator: completeness, filters, faults, auth, retry bounds."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from feed_fixtures import (
    SAMPLES,
    SYNTHETIC_MALFORMED,
    client_for,
    expected,
    median_time,
    synthetic_payloads,
)
from structlog.testing import capture_logs

from pipeline.errors import ConfigError, FeedAuthError, FeedProtocolError, FeedUnavailableError
from pipeline.feeds.fetch import adapter, fetch_feed
from pipeline.feeds.http import RetryPolicy
from pipeline.feeds.validate import EXTRA_CELLS_KEY, validate_page
from pipeline.settings import FEEDS as FEED_NAMES
from pipeline.settings import load_settings
from pipeline.sim.payloads import WorldPayloads, load_payloads
from pipeline.sim.server import FAULT_KINDS, FaultConfig, FeedSimulator

SMALL_PAGES: dict[str, dict[str, int]] = {
    "orr": {"page_size": 7},
    "ice": {"page_size": 6},
    "removals": {"batch_size": 25},
    "dna": {},
}


@pytest.fixture(scope="module", params=["synthetic", pytest.param("sample", marks=pytest.mark.sample)])
def world(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def payloads(world: str) -> WorldPayloads:
    if world == "sample":
        if not (SAMPLES / "orr_children.json").exists():
            pytest.skip("../shared/samples is not here")
        return load_payloads(SAMPLES)
    return synthetic_payloads()


@pytest.fixture
def sim(payloads: WorldPayloads) -> Iterator[FeedSimulator]:
    with FeedSimulator(payloads, dna_page_size=4, csv_chunk_bytes=512) as simulator:
        yield simulator


@pytest.fixture
def synthetic_sim() -> Iterator[FeedSimulator]:
    with FeedSimulator(synthetic_payloads(), dna_page_size=4, csv_chunk_bytes=512) as simulator:
        yield simulator


def fetch_all(sim: FeedSimulator, feed: str, since: Any = None, **client_kw: Any) -> tuple[list[Any], int]:
    """Every record the adapter yields, and how many pages it took."""
    records: list[Any] = []
    pages = 0
    with client_for(sim, feed, **client_kw) as client:
        for page in adapter(feed).fetch(client, since, **SMALL_PAGES[feed]):
            assert isinstance(page, list) and page
            records.extend(page)
            pages += 1
    return records, pages


# --------------------------------------------------------------------------- completeness


@pytest.mark.parametrize("feed", FEED_NAMES)
def test_every_record_arrives_in_order_with_small_pages(
    sim: FeedSimulator, payloads: WorldPayloads, feed: str
) -> None:
    records, pages = fetch_all(sim, feed)
    assert records == expected(payloads, feed)
    limit = {"orr": 7, "ice": 6, "removals": 25, "dna": 4}[feed]
    assert pages == -(-len(records) // limit)
    assert sim.counts(feed) == {"ok": 1 if feed == "removals" else pages}


@pytest.mark.parametrize("feed", FEED_NAMES)
def test_filters_return_records_updated_at_or_after(
    sim: FeedSimulator, payloads: WorldPayloads, feed: str
) -> None:
    if feed == "removals":
        since: Any = datetime(2018, 4, 1).date()
    else:
        since = median_time(payloads, feed)
    want = expected(payloads, feed, since)
    records, _ = fetch_all(sim, feed, since)
    assert records == want
    assert 0 < len(want) < len(expected(payloads, feed))
    assert all(isinstance(r, dict) for r in records)  # non-objects only come without a filter


def test_fetch_feed_uses_settings(sim: FeedSimulator, payloads: WorldPayloads) -> None:
    settings = load_settings(environ={**sim.env(), "REUNIFY_AS_OF": "2018-07-12"})
    for feed in FEED_NAMES:
        records = [r for page in fetch_feed(feed, settings) for r in page]
        assert records == expected(payloads, feed)
    no_dna = {k: v for k, v in sim.env().items() if "_DNA_" not in k}
    with pytest.raises(ConfigError, match="REUNIFY_DNA_URL"):
        next(iter(fetch_feed("dna", load_settings(environ=no_dna))))


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("seed", [1, 2])
def test_with_15_percent_faults_every_record_arrives_exactly_once(
    sim: FeedSimulator, payloads: WorldPayloads, seed: int
) -> None:
    sim.set_faults(FaultConfig(rate=0.15, retry_after=0, seed=seed))
    faults = 0
    for feed in FEED_NAMES:
        records, _ = fetch_all(sim, feed)
        assert records == expected(payloads, feed), feed
        counts = sim.counts(feed)
        faults += sum(n for outcome, n in counts.items() if outcome != "ok")
    assert faults > 0


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_kind_is_survived(synthetic_sim: FeedSimulator, kind: str) -> None:
    """Every distinct request fails twice with this fault, then succeeds."""
    payloads = synthetic_payloads()
    synthetic_sim.set_faults(kinds=(kind,), fail_first=2, retry_after=0)
    for feed in FEED_NAMES:
        records, _ = fetch_all(synthetic_sim, feed)
        assert records == expected(payloads, feed), feed
        counts = synthetic_sim.counts(feed)
        assert counts[kind] == 2 * counts["ok"], (feed, counts)


def test_removals_stream_resumes_after_mid_body_drops(synthetic_sim: FeedSimulator) -> None:
    payloads = synthetic_payloads()
    synthetic_sim.set_faults(kinds=("drop_mid_body",), fail_first=3, retry_after=0, seed=5)
    with capture_logs() as logs:
        records, _ = fetch_all(synthetic_sim, "removals")
    assert records == expected(payloads, "removals")
    assert synthetic_sim.counts("removals") == {"drop_mid_body": 3, "ok": 1}
    assert any(e["event"] == "feed.stream_resume" for e in logs)


def test_429_retry_after_is_honoured_and_capped(synthetic_sim: FeedSimulator) -> None:
    slept: list[float] = []
    synthetic_sim.set_faults(kinds=("429",), fail_first=2, retry_after=0.25)
    records, _ = fetch_all(synthetic_sim, "dna", sleep=slept.append)
    assert len(records) == len(synthetic_payloads().dna)
    assert slept and all(s == 0.25 for s in slept)

    slept.clear()
    synthetic_sim.set_faults(retry_after=30)
    capped = RetryPolicy(backoff_initial=0.001, jitter=0.0, retry_after_cap=0.05)
    fetch_all(synthetic_sim, "dna", sleep=slept.append, policy=capped)
    assert slept and all(s == 0.05 for s in slept)


# --------------------------------------------------------------------------- giving up


def test_retries_stop_at_max_attempts(synthetic_sim: FeedSimulator) -> None:
    synthetic_sim.set_faults(rate=1.0, kinds=("503",))
    policy = RetryPolicy(max_attempts=4, backoff_initial=0.001, jitter=0.0)
    with pytest.raises(FeedUnavailableError) as info:
        fetch_all(synthetic_sim, "orr", policy=policy)
    assert synthetic_sim.counts("orr") == {"503": 4}
    message = str(info.value)
    assert message.startswith("orr feed:") and "HTTP 503 x4" in message and "4 attempts" in message


def test_retries_stop_at_max_seconds(synthetic_sim: FeedSimulator) -> None:
    synthetic_sim.set_faults(rate=1.0, kinds=("502", "drop"))
    policy = RetryPolicy(
        max_attempts=1000, max_seconds=0.4, backoff_initial=0.05, backoff_max=0.05, jitter=0.0
    )
    started = time.monotonic()
    with pytest.raises(FeedUnavailableError, match="kept failing with"):
        fetch_all(synthetic_sim, "ice", policy=policy)
    assert time.monotonic() - started < 1.0
    assert 2 <= sum(synthetic_sim.counts("ice").values()) <= 10


def test_timeouts_are_retried_then_reported(synthetic_sim: FeedSimulator) -> None:
    synthetic_sim.set_faults(latency=0.3)
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.001, jitter=0.0)
    with pytest.raises(FeedUnavailableError, match="timeout x3"):
        fetch_all(synthetic_sim, "dna", timeout=0.05, policy=policy)


def test_bad_body_is_retried_then_protocol_error(synthetic_sim: FeedSimulator) -> None:
    synthetic_sim.set_faults(kinds=("bad_body",), fail_first=2)
    records, _ = fetch_all(synthetic_sim, "orr")
    assert len(records) == len(synthetic_payloads().orr)

    synthetic_sim.set_faults(rate=1.0, kinds=("bad_body",), fail_first=0)
    synthetic_sim.reset_counts()
    for feed in ("orr", "removals"):
        with pytest.raises(FeedProtocolError) as info:
            fetch_all(synthetic_sim, feed)
        assert info.value.feed == feed
        assert synthetic_sim.counts(feed)["bad_body"] == 3  # RetryPolicy.protocol_attempts


def test_not_found_is_not_retried(synthetic_sim: FeedSimulator) -> None:
    client = client_for(synthetic_sim, "orr")
    client.root = synthetic_sim.base_url + "/nowhere"
    with pytest.raises(FeedProtocolError, match="HTTP 404"):
        list(adapter("orr").fetch(client))
    assert synthetic_sim.counts() == {"404": 1}


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize("feed", FEED_NAMES)
def test_wrong_token_is_an_auth_error_naming_the_feed_without_the_token(
    synthetic_sim: FeedSimulator, feed: str
) -> None:
    secret = "wrong-token-s3cr3t-value"
    with capture_logs() as logs, pytest.raises(FeedAuthError) as info:
        fetch_all(synthetic_sim, feed, token=secret)
    error = info.value
    assert error.feed == feed and error.status == 401
    assert f"{feed} feed" in str(error) and f"REUNIFY_{feed.upper()}_TOKEN" in str(error)
    assert synthetic_sim.counts(feed) == {"401": 1}  # never retried
    texts = [str(error), repr(error), repr(error.__cause__), repr(error.__context__), repr(logs)]
    assert not any(secret in text for text in texts)


def test_simulator_wrong_token_mode_and_no_token_leaks(synthetic_sim: FeedSimulator) -> None:
    synthetic_sim.set_faults(rate=0.5, kinds=("503",), wrong_token=True, seed=3)
    token = synthetic_sim.tokens["ice"]
    with capture_logs() as logs, pytest.raises(FeedAuthError) as info:
        fetch_all(synthetic_sim, "ice")
    client = client_for(synthetic_sim, "ice")
    texts = [str(info.value), repr(info.value), repr(logs), repr(client), repr(client._session.auth)]
    assert not any(token in text for text in texts)
    assert any(e["event"] == "feed.auth_refused" and e["status"] == 401 for e in logs)


def test_retry_logs_carry_feed_attempt_and_status_but_no_secret(synthetic_sim: FeedSimulator) -> None:
    synthetic_sim.set_faults(kinds=("503",), fail_first=1)
    with capture_logs() as logs:
        fetch_all(synthetic_sim, "orr")
    retries = [e for e in logs if e["event"] == "feed.retry"]
    assert retries and all(
        e["feed"] == "orr" and e["attempt"] == 1 and e["failure"] == "HTTP 503" for e in retries
    )
    assert synthetic_sim.tokens["orr"] not in repr(logs)
    assert "López" not in repr(logs)  # no names from the records


# --------------------------------------------------------------------------- quarantine


@pytest.mark.parametrize("feed", FEED_NAMES)
def test_malformed_records_are_quarantined_with_reasons(
    sim: FeedSimulator, payloads: WorldPayloads, world: str, feed: str
) -> None:
    valid, quarantined = [], []
    with client_for(sim, feed) as client:
        for page in adapter(feed).fetch(client, None, **SMALL_PAGES[feed]):
            ok, bad = validate_page(feed, page)
            valid += ok
            quarantined += bad
    assert len(valid) + len(quarantined) == len(expected(payloads, feed))
    assert all(q.feed == feed and q.reason for q in quarantined)
    for q in quarantined:
        json.loads(q.payload)  # the raw record is kept as JSON text
    for v in valid:
        assert v.record_id and json.loads(v.payload_json)
        assert v.updated_at == "" or datetime.fromisoformat(v.updated_at).tzinfo == UTC
    if world == "synthetic":
        reasons = [q.reason for q in quarantined]
        assert len(reasons) == len(SYNTHETIC_MALFORMED[feed])
        for fragment, reason in zip(SYNTHETIC_MALFORMED[feed], reasons, strict=True):
            assert fragment in reason
        if feed == "removals":
            too_many = next(q for q in quarantined if q.record_id == "RM-TOO-MANY")
            assert json.loads(too_many.payload)[EXTRA_CELLS_KEY] == ["EXTRA"]
    elif feed == "ice":
        assert len(quarantined) == 2  # the sample's README: two malformed detainee records
    elif feed == "orr":
        assert len(quarantined) >= 1
