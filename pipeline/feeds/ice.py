"""ICE detainee feed: JSON numbered pages with a total (contract 3.2)."""

from __future__ import annotations

import contextvars
import functools
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import structlog

from pipeline.errors import FeedIncompleteError
from pipeline.feed_registry import shown
from pipeline.feeds.http import BadPage, FeedClient, format_since

log = structlog.get_logger(__name__)

NAME = "ice"
PATH = "/v1/detainees"
MAX_PAGE_SIZE = 500

PARALLEL_PAGES = 3
"""Pages requested at once once the total is known: the feed's latency, not our CPU, bounds a
sequential fetch, and every page request is independent and safe to repeat."""

SHORT_PAGE_ATTEMPTS = 4
"""Tries of a page that comes back with fewer records than the total promises (a glitch upstream
heals on a retry; a page that stays short means the feed is incomplete)."""


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_page(body: Any, asked: int | None = None) -> None:
    """Raise BadPage unless the body has a ``detainees`` list, an integer ``total`` and a
    ``per_page`` within 1..``asked`` that the list does not exceed."""
    if not isinstance(body, dict):
        raise BadPage("page is not a JSON object")
    detainees = body.get("detainees")
    if not isinstance(detainees, list):
        raise BadPage("page has no 'detainees' list")
    total = _count(body.get("total"))
    if total is None or total < 0:
        raise BadPage("page has no valid 'total'")
    per_page = _count(body.get("per_page"))
    if per_page is None or per_page <= 0 or (asked is not None and per_page > asked):
        raise BadPage(f"page's 'per_page' is not within 1..{asked or MAX_PAGE_SIZE} (the size asked)")
    if len(detainees) > per_page:
        raise BadPage("page holds more detainees than its 'per_page'")


@dataclass(frozen=True)
class _Got:
    """One page as finally answered: its records, the page size it was served at, the total it
    announced, and how many records the total promised it would hold."""

    records: list[object]
    size: int
    total: int
    expected: int
    attempts: int


def _pages_for(total: int, size: int) -> int:
    return -(-total // size)


def fetch(
    client: FeedClient, since: datetime | date | None = None, *, page_size: int | None = None
) -> Iterator[list[object]]:
    """Every detainee record as served, one list per page, until ``page * per_page >= total``.

    Page 1 tells the total and the page size the feed really serves (it may cap what was asked:
    the pages are then counted at its size). The remaining pages are requested a few at a time
    and yielded in order; pages beyond the total are never requested. A page short of what the
    total promises is asked again a few times; when the records still fall short of the total
    the fetch fails with :class:`FeedIncompleteError` (after yielding what it got: the caller
    must not publish it).
    """
    asked = max(1, min(MAX_PAGE_SIZE, page_size or client.page_size or MAX_PAGE_SIZE))
    updated_since = format_since(since)

    def get(page_no: int, size: int, total: int | None) -> _Got:
        for attempt in range(1, SHORT_PAGE_ATTEMPTS + 1):
            what = f"detainees page {page_no}"
            params = {"page": page_no, "per_page": size, "updated_since": updated_since}
            page = client.get_page(PATH, params, check=functools.partial(check_page, asked=size), what=what)
            records: list[object] = page.body["detainees"]
            served, announced = page.body["per_page"], page.body["total"]
            if served != size:
                if page_no != 1:  # another slice of the list than the one planned: re-planned
                    return _Got(records, served, announced, 0, attempt)
                size = served  # page 1 starts at record 0 whatever the size: keep it at the feed's
            promised = announced if total is None else total
            expected = max(0, min(size, promised - (page_no - 1) * size))
            log.debug("feed.page", feed=NAME, page=page_no, records=len(records), total=announced)
            if len(records) >= expected or attempt == SHORT_PAGE_ATTEMPTS:
                return _Got(records, size, announced, expected, attempt)
            log.warning(
                "feed.short_page",
                feed=NAME,
                page=page_no,
                records=len(records),
                expected=expected,
                attempt=attempt,
            )
            client.pause(client.policy.backoff(attempt), what)
        raise AssertionError("unreachable")

    first = get(1, asked, None)
    total, size = first.total, first.size
    if first.size < asked:
        log.warning("feed.page_size_capped", feed=NAME, asked=asked, served=first.size)
    fetched = 0
    short: list[tuple[int, int, int]] = []  # page, records, expected

    def take(got: _Got, page_no: int, skip: int) -> list[object]:
        nonlocal fetched
        records = got.records[skip:]
        if len(records) < got.expected - skip:
            short.append((page_no, len(records), got.expected - skip))
        fetched += len(records)
        return records

    def plan(position: int, size: int) -> Iterator[tuple[int, int]]:
        """The pages (and records to skip on the first) that hold the list from ``position`` on."""
        last = _pages_for(total, size)
        if last > client.max_pages:
            raise client.page_limit_error(last, f"{total:,} detainees at {size} a page")
        first_page = position // size + 1
        for page_no in range(first_page, last + 1):
            yield page_no, (position - (page_no - 1) * size if page_no == first_page else 0)

    pages = 1
    records = take(first, 1, 0)
    if records:
        yield records
    position = min(size, total)  # records of the listing covered by the pages taken
    upcoming = plan(position, size)
    with ThreadPoolExecutor(max_workers=PARALLEL_PAGES, thread_name_prefix="ice-page") as pool:
        window: deque[tuple[int, int, Future[_Got]]] = deque()

        def submit(n: int) -> None:
            for page_no, skip in upcoming:
                window.append(
                    (page_no, skip, pool.submit(contextvars.copy_context().run, get, page_no, size, total))
                )
                if len(window) >= n:
                    return

        submit(PARALLEL_PAGES)
        while window:
            page_no, skip, future = window.popleft()
            got = future.result()
            if got.size != size:
                # The feed changed its page size mid-way: the pages in flight were asked at the old
                # size, so drop them and count the rest of the list at the new one from where we are.
                log.warning("feed.page_size_changed", feed=NAME, page=page_no, asked=size, served=got.size)
                for _, _, pending in window:
                    pending.cancel()
                for _, _, pending in window:
                    if not pending.cancelled():
                        pending.exception()  # wait for it; its answer is not used
                window.clear()
                size = got.size
                upcoming = plan(position, size)
                submit(PARALLEL_PAGES)
                continue
            pages += 1
            records = take(got, page_no, skip)
            position = min(page_no * size, total)
            if records:
                yield records
            submit(PARALLEL_PAGES)
    if short or fetched < total:
        detail = ", ".join(f"page {p} ({n} of {e})" for p, n, e in short[:5]) + (
            f" and {len(short) - 5} more" if len(short) > 5 else ""
        )
        log.error("feed.incomplete", feed=NAME, fetched=fetched, total=total, short_pages=len(short))
        raise FeedIncompleteError(
            NAME,
            f"{fetched:,} of {total:,} detainees fetched (total announced on page 1); "
            + (f"short pages after {SHORT_PAGE_ATTEMPTS} tries each: {detail}; " if short else "")
            + "the feed is incomplete, so nothing from it is published; try again later",
        )
    log.info("feed.fetched", feed=NAME, pages=pages, records=fetched)


def view(r: Mapping[str, Any]) -> dict[str, str]:
    """An ICE record as an operator reads it (the display fields of pipeline.ops.records_view)."""
    c = r.get("custody") or {}
    claims = "; ".join(
        f"{shown(k.get('name'))}{' ' + shown(k.get('dob')) if k.get('dob') else ''}"
        for k in (r.get("claimed_children") or [])
        if isinstance(k, Mapping)
    )
    flags = []
    if r.get("criminal_history"):
        flags.append(f"criminal history {r['criminal_history']}")
    if r.get("medical_hold"):
        flags.append("medical hold")
    app = (r.get("apprehension_event_id"), r.get("apprehension_date"), r.get("apprehension_station"))
    return {
        "A-number": shown(r.get("a_number")),
        "name": f"{shown(r.get('first_name'))} {shown(r.get('last_name'))}".strip(),
        "date of birth": shown(r.get("birth_date")),
        "sex": shown(r.get("gender")),
        "country": shown(r.get("citizenship")),
        "apprehension": " ".join(shown(x) for x in app if x),
        "custody / facility": " ".join(
            x
            for x in (shown(c.get("status")), shown(c.get("facility_code")), f"as of {shown(c.get('as_of'))}")
            if x
        ),
        "reported parent / claimed children": claims,
        "flags": ", ".join(flags),
        "updated": shown(r.get("updated_at")),
    }
