"""ICE detainee feed: JSON numbered pages with a total (contract 3.2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
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


def fetch(
    client: FeedClient, since: datetime | date | None = None, *, page_size: int | None = None
) -> Iterator[list[object]]:
    """Every detainee record as served, one list per page, until ``page * per_page >= total``."""
    per_page = max(1, min(MAX_PAGE_SIZE, page_size or client.page_size or MAX_PAGE_SIZE))
    updated_since = format_since(since)
    page_no = records = 0
    while True:
        page_no += 1
        params = {"page": page_no, "per_page": per_page, "updated_since": updated_since}
        page = client.get_page(PATH, params, check=check_page, what=f"detainees page {page_no}")
        detainees: list[object] = page.body["detainees"]
        total: int = page.body["total"]
        records += len(detainees)
        log.debug("feed.page", feed=NAME, page=page_no, records=len(detainees), total=total)
        if detainees:
            yield detainees
        # An empty page ends it too, so a wrong total can never loop forever.
        if page_no * per_page >= total or not detainees:
            break
    log.info("feed.fetched", feed=NAME, pages=page_no, records=records)
