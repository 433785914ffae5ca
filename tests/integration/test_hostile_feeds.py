"""Hostile feeds over real HTTP: each mode of the simulator's feeds section either gives every
record exactly once or fails the fetch with an error that names the feed, the numbers and the
setting to change."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from feed_fixtures import FAST, client_for, expected, synthetic_payloads

from pipeline.errors import (
    FeedIncompleteError,
    FeedLimitError,
    FeedProtocolError,
    FeedUnavailableError,
)
from pipeline.feeds.fetch import adapter, fetch_feed
from pipeline.feeds.http import RetryPolicy
from pipeline.settings import load_settings
from pipeline.sim.payloads import WorldPayloads
from pipeline.sim.server import FaultConfig, FeedSimulator

ONE_TRY = RetryPolicy(max_attempts=1, max_seconds=5.0, backoff_initial=0.001, backoff_max=0.01, jitter=0.0)


@pytest.fixture
def sim() -> Iterator[FeedSimulator]:
    with FeedSimulator(synthetic_payloads(), dna_page_size=4, csv_chunk_bytes=512) as simulator:
        yield simulator


def fetch_all(sim: FeedSimulator, feed: str, **kw: Any) -> list[Any]:
    """Every record the adapter yields; adapter keywords (page_size, batch_size) go to fetch."""
    adapter_kw = {k: kw.pop(k) for k in ("page_size", "batch_size") if k in kw}
    records: list[Any] = []
    with client_for(sim, feed, **kw) as client:
        for page in adapter(feed).fetch(client, None, **adapter_kw):
            records.extend(page)
    return records


ICE_TOTAL = len(synthetic_payloads().ice)  # 47: eight pages of six


# --------------------------------------------------------------------------- ICE numbered pages


def test_an_ice_feed_with_an_empty_middle_page_fails_naming_both_counts(sim: FeedSimulator) -> None:
    sim.set_hostile(["ice_empty_page"])
    with pytest.raises(FeedIncompleteError) as info:
        fetch_all(sim, "ice", page_size=6)
    message = str(info.value)
    assert info.value.feed == "ice" and message.startswith("ice feed:")
    assert f"{ICE_TOTAL - 6} of {ICE_TOTAL} detainees fetched (total announced on page 1)" in message
    assert "page 5 (0 of 6)" in message
    # the empty page was asked again before giving up, and nothing past the last page was asked
    assert sim.counts("ice") == {"ok": 8 + 3}


def test_an_ice_page_empty_once_heals_on_a_retry_and_every_record_comes_once(sim: FeedSimulator) -> None:
    sim.set_hostile(["ice_empty_page_once"])
    assert fetch_all(sim, "ice", page_size=6) == expected(synthetic_payloads(), "ice")
    assert sim.counts("ice") == {"ok": 8 + 1}


def test_an_ice_feed_that_caps_per_page_is_paged_at_the_size_it_serves(sim: FeedSimulator) -> None:
    sim.ice_page_cap = 4
    sim.set_hostile(["ice_caps_per_page"])
    assert fetch_all(sim, "ice", page_size=6) == expected(synthetic_payloads(), "ice")
    assert sim.counts("ice") == {"ok": -(-ICE_TOTAL // 4)}  # pages past the total never asked


@pytest.mark.parametrize("cap", [3, 4, 7])
def test_a_page_size_cut_mid_way_is_replanned_without_skipping_or_repeating_records(
    sim: FeedSimulator, cap: int
) -> None:
    # pages 1-2 at 10, then pages asked in parallel at 10 come back at `cap`: re-planned from record 20
    sim.ice_page_cap = cap
    sim.set_hostile(["ice_caps_per_page_late"])
    assert fetch_all(sim, "ice", page_size=10) == expected(synthetic_payloads(), "ice")


def test_an_ice_total_needing_more_pages_than_allowed_fails_before_paging(sim: FeedSimulator) -> None:
    with pytest.raises(FeedLimitError, match="more than 3 pages \\(REUNIFY_MAX_PAGES\\)"):
        fetch_all(sim, "ice", page_size=6, max_pages=3)
    assert sim.counts("ice") == {"ok": 1}


# --------------------------------------------------------------------------- removals CSV


def test_a_removals_csv_with_an_empty_body_fails_the_feed(sim: FeedSimulator) -> None:
    sim.set_hostile(["removals_empty_body"])
    with pytest.raises(FeedProtocolError, match=r"removals feed: .*the body is empty: no header row"):
        fetch_all(sim, "removals")


def test_a_removals_csv_with_only_its_header_is_a_valid_empty_list(sim: FeedSimulator) -> None:
    sim.set_hostile(["removals_header_only"])
    assert fetch_all(sim, "removals") == []


def test_a_removals_csv_under_another_header_fails_without_echoing_it(sim: FeedSimulator) -> None:
    sim.set_hostile(["removals_wrong_header"])
    with pytest.raises(FeedProtocolError) as info:
        fetch_all(sim, "removals")
    message = str(info.value)
    assert "is not the removal list's header REMOVAL_ID,A_NUMBER" in message
    assert "removal_id" not in message


def test_a_removals_header_with_whitespace_and_a_bom_is_the_contracts(sim: FeedSimulator) -> None:
    payloads = synthetic_payloads()
    header, rest = payloads.removals_csv.split("\n", 1)
    spaced = "\ufeff" + ", ".join(f" {name}" for name in header.split(",")) + " \n" + rest
    sim.set_payloads(WorldPayloads(payloads.orr, payloads.ice, spaced, payloads.dna))
    assert fetch_all(sim, "removals") == expected(payloads, "removals")


@pytest.mark.parametrize("drops", [0, 3])
def test_a_removals_csv_ending_inside_a_quote_fails_the_feed_even_across_resumed_streams(
    sim: FeedSimulator, drops: int
) -> None:
    sim.set_hostile(["removals_unterminated_quote"])
    sim.set_faults(kinds=("drop_mid_body",), fail_first=drops, retry_after=0, seed=5)
    with pytest.raises(FeedProtocolError) as info:
        fetch_all(sim, "removals", batch_size=25)
    message = str(info.value)
    assert "ends inside a quoted field" in message and "at line" in message
    assert sim.counts("removals")["drop_mid_body"] == drops


def test_an_unterminated_quote_in_a_long_csv_fails_at_the_field_limit(sim: FeedSimulator) -> None:
    payloads = synthetic_payloads()
    rows = list(csv.reader(io.StringIO(payloads.removals_csv, newline="")))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    plain = [r for r in rows[1:] if len(r) == 8 and "\n" not in r[7] and "," not in r[7]]
    for i in range(3000):
        writer.writerow([f"RM-L{i:07d}", *plain[i % len(plain)][1:]])
    sim.set_payloads(WorldPayloads(payloads.orr, payloads.ice, out.getvalue(), payloads.dna))
    sim.set_hostile(["removals_unterminated_quote"])
    with pytest.raises(FeedProtocolError, match="runs past csv's field limit"):
        fetch_all(sim, "removals")


# --------------------------------------------------------------------------- time


def test_a_trickled_json_page_is_cut_at_its_time_limit(sim: FeedSimulator) -> None:
    sim.set_hostile(["trickle"])
    sim.trickle_interval = 0.05
    started = time.monotonic()
    with pytest.raises(FeedUnavailableError, match=r"slow response \(over 0\.3s, REUNIFY_PAGE_MAX_SECONDS\)"):
        fetch_all(
            sim,
            "orr",
            policy=RetryPolicy(max_attempts=2, backoff_initial=0.01, jitter=0.0),
            page_max_seconds=0.3,
        )
    assert time.monotonic() - started < 3.0


def test_a_trickled_csv_stream_fails_at_the_fetch_budget(sim: FeedSimulator) -> None:
    sim.set_hostile(["trickle"])
    sim.trickle_interval = 0.05
    started = time.monotonic()
    with pytest.raises(FeedLimitError, match=r"past its budget of 1s.*REUNIFY_FETCH_BUDGET_SECONDS"):
        fetch_all(sim, "removals", budget_seconds=1.0)
    assert time.monotonic() - started < 3.0


def test_the_fetch_budget_bounds_retries_too(sim: FeedSimulator) -> None:
    sim.set_faults(rate=1.0, kinds=("503",))
    patient = RetryPolicy(
        max_attempts=1000, max_seconds=600, backoff_initial=0.2, backoff_max=0.2, jitter=0.0
    )
    started = time.monotonic()
    with pytest.raises(FeedUnavailableError, match="REUNIFY_FETCH_BUDGET_SECONDS, ran out"):
        fetch_all(sim, "dna", policy=patient, budget_seconds=0.7)
    assert time.monotonic() - started < 2.0


# --------------------------------------------------------------------------- pages and size


@pytest.mark.parametrize(("feed", "mode"), [("orr", "orr_endless_cursors"), ("dna", "dna_endless_links")])
def test_a_feed_paging_forever_stops_at_the_page_cap(sim: FeedSimulator, feed: str, mode: str) -> None:
    sim.set_hostile([mode])
    with pytest.raises(FeedLimitError) as info:
        fetch_all(sim, feed, max_pages=12)
    assert info.value.feed == feed and "more than 12 pages (REUNIFY_MAX_PAGES)" in str(info.value)
    assert sim.counts(feed) == {"ok": 12}


def test_the_page_cap_comes_from_the_settings(sim: FeedSimulator, tmp_path: Any) -> None:
    sim.set_hostile(["orr_endless_cursors"])
    settings = load_settings({**sim.env(), "REUNIFY_MAX_PAGES": "5"}, config_file=tmp_path / "none.toml")
    with pytest.raises(FeedLimitError, match="more than 5 pages"):
        for _ in fetch_feed("orr", settings):
            pass


def test_an_oversized_page_without_a_length_fails_once_counted_past_the_cap(sim: FeedSimulator) -> None:
    sim.oversized_page_bytes = 300_000
    sim.set_hostile(["oversized_page"])
    with pytest.raises(FeedLimitError, match="larger than 100,000 bytes \\(REUNIFY_MAX_RESPONSE_BYTES\\)"):
        fetch_all(sim, "ice", max_response_bytes=100_000)
    assert sim.counts("ice") == {"oversized": 1}  # not retried: it would be as big again


def test_a_page_announcing_a_length_past_the_cap_fails_before_reading(sim: FeedSimulator) -> None:
    with pytest.raises(FeedLimitError, match="larger than 500 bytes"):
        fetch_all(sim, "orr", max_response_bytes=500)


def test_pages_padded_within_the_cap_are_read_whole(sim: FeedSimulator) -> None:
    sim.oversized_page_bytes = 200_000
    sim.set_hostile(["oversized_page"])
    assert fetch_all(sim, "dna", max_response_bytes=300_000) == expected(synthetic_payloads(), "dna")


# --------------------------------------------------------------------------- redirects


def test_a_redirect_off_the_feeds_origin_is_refused_without_echoing_its_query(sim: FeedSimulator) -> None:
    sim.set_hostile(["dna_redirect_off_origin"])
    with pytest.raises(FeedProtocolError) as info:
        fetch_all(sim, "dna")
    message = str(info.value)
    assert message.startswith("dna feed:") and "redirecting to another origin" in message
    assert "REUNIFY_DNA_URL" in message
    assert "sig=" not in message and "decoy-signature" not in message and "DNA-0000001" not in message
    assert sim.decoy_requests == 0  # its body was never asked for
    assert sim.counts("dna") == {"302": 1}  # and not retried


def test_a_redirect_on_the_same_origin_is_followed(sim: FeedSimulator) -> None:
    sim.set_hostile(["dna_redirect_same_origin"])
    assert fetch_all(sim, "dna") == expected(synthetic_payloads(), "dna")
    counts = sim.counts("dna")
    assert counts["307"] == counts["ok"] > 1


def test_same_origin_redirects_are_followed_a_few_times_only(sim: FeedSimulator) -> None:
    sim.set_hostile(["dna_redirect_loop"])
    with pytest.raises(FeedProtocolError, match="more than 5 redirects"):
        fetch_all(sim, "dna", policy=FAST)
    assert sim.counts("dna") == {"302": 6}


@pytest.mark.parametrize("mode", ["dna_redirect_unmatched_bracket", "dna_redirect_bad_port"])
def test_a_redirect_to_a_location_that_is_not_a_url_fails_the_feed_without_echoing_it(
    sim: FeedSimulator, mode: str
) -> None:
    sim.set_hostile([mode])
    with pytest.raises(FeedProtocolError) as info:
        fetch_all(sim, "dna")
    message = str(info.value)
    assert message.startswith("dna feed: /dna/v1/results answered HTTP 302 with a Location header that is")
    assert "REUNIFY_DNA_URL" in message
    assert "evil.example" not in message and "sig=" not in message
    assert sim.counts("dna") == {"302": 1}  # a protocol error, not retried


def test_a_next_link_that_is_not_a_url_fails_the_feed(sim: FeedSimulator) -> None:
    sim.set_hostile(["dna_next_link_malformed"])
    with pytest.raises(FeedProtocolError, match=r"^dna feed: a next-page link is not a valid URL .*_DNA_URL"):
        fetch_all(sim, "dna")
    assert sim.counts("dna") == {"ok": 1}


def test_hostile_modes_leave_other_feeds_whole(sim: FeedSimulator) -> None:
    sim.set_hostile(["ice_empty_page", "removals_wrong_header", "dna_redirect_off_origin"])
    sim.set_faults(FaultConfig())
    assert fetch_all(sim, "orr", page_size=7) == expected(synthetic_payloads(), "orr")
