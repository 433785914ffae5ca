"""ICE detainee feed: JSON numbered pages with a total (contract 3.2)."""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from itertools import islice
from typing import Any

import structlog

from pipeline.feeds.http import BadPage, FeedClient, format_since

log = structlog.get_logger(__name__)

NAME = "ice"
PATH = "/v1/detainees"
MAX_PAGE_SIZE = 500


def check_page(body: Any) -> None:
    """Raise BadPage unless the body has a ``detainees`` list and an integer ``total``."""
    if not isinstance(body, dict):
        raise BadPage("page is not a JSON object")
    if not isinstance(body.get("detainees"), list):
        raise BadPage("page has no 'detainees' list")
    total = body.get("total")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise BadPage("page has no valid 'total'")


PARALLEL_PAGES = 3
"""Pages requested at once once the total is known: the feed's latency, not our CPU, bounds a
sequential fetch, and every page request is independent and safe to repeat."""


def fetch(
    client: FeedClient, since: datetime | date | None = None, *, page_size: int | None = None
) -> Iterator[list[object]]:
    """Every detainee record as served, one list per page, until ``page * per_page >= total``.

    Page 1 tells the total; the remaining pages are then requested a few at a time and yielded
    in order.
    """
    per_page = max(1, min(MAX_PAGE_SIZE, page_size or client.page_size or MAX_PAGE_SIZE))
    updated_since = format_since(since)

    def get(page_no: int) -> tuple[list[object], int]:
        params = {"page": page_no, "per_page": per_page, "updated_since": updated_since}
        page = client.get_page(PATH, params, check=check_page, what=f"detainees page {page_no}")
        detainees: list[object] = page.body["detainees"]
        log.debug("feed.page", feed=NAME, page=page_no, records=len(detainees), total=page.body["total"])
        return detainees, page.body["total"]

    first, total = get(1)
    records, pages = len(first), 1
    if first:
        yield first
    last_page = -(-total // per_page)
    if first and last_page > 1:
        with ThreadPoolExecutor(max_workers=PARALLEL_PAGES, thread_name_prefix="ice-page") as pool:
            window: deque[Future[tuple[list[object], int]]] = deque()
            upcoming = iter(range(2, last_page + 1))
            for page_no in islice(upcoming, PARALLEL_PAGES):
                window.append(pool.submit(contextvars.copy_context().run, get, page_no))
            while window:
                detainees, _ = window.popleft().result()
                pages += 1
                records += len(detainees)
                # An empty page ends it too, so a shrinking total can never leave us waiting.
                if not detainees:
                    for pending in window:
                        pending.cancel()
                    break
                yield detainees
                for page_no in islice(upcoming, 1):
                    window.append(pool.submit(contextvars.copy_context().run, get, page_no))
    log.info("feed.fetched", feed=NAME, pages=pages, records=records)
