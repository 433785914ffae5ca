"""DNA verification results: JSON pages chained by ``Link: <url>; rel="next"`` (contract 3.4)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

import structlog

from pipeline.feed_registry import shown
from pipeline.feeds.http import BadPage, FeedClient, format_since

log = structlog.get_logger(__name__)

NAME = "dna"
PATH = "/v1/results"


def check_page(body: Any) -> None:
    """Raise BadPage unless the body is ``{"results": [...]}``."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise BadPage("page has no 'results' list")


def fetch(client: FeedClient, since: datetime | date | None = None) -> Iterator[list[object]]:
    """Every DNA result as served, one list per page, following the ``next`` link on the feed's origin."""
    target: str = PATH
    params: dict[str, str | int | None] | None = {"since": format_since(since)}
    seen: set[str] = set()
    pages = records = 0
    while True:
        page = client.get_page(target, params, check=check_page, what=f"results page {pages + 1}")
        results: list[object] = page.body["results"]
        pages += 1
        records += len(results)
        log.debug("feed.page", feed=NAME, page=pages, records=len(results))
        yield results
        link = page.links.get("next")
        if not link:
            break
        if pages >= client.max_pages:
            raise client.page_limit_error(pages, f"results page {pages}")
        target, params = client.resolve(page, link), None  # the link carries the query
        if target in seen:
            raise client.protocol_error("the feed sent a next link it had sent before (pagination loop)")
        seen.add(target)
    log.info("feed.fetched", feed=NAME, pages=pages, records=records)


def view(r: Mapping[str, Any]) -> dict[str, str]:
    """A DNA result as an operator reads it (the display fields of pipeline.ops.records_view)."""
    return {
        "A-number": f"adult {shown(r.get('adult_a_number'))} child {shown(r.get('child_a_number'))}",
        "name": f"adult {shown(r.get('adult_subject_id'))}, child {shown(r.get('child_id'))}",
        "flags": f"DNA {shown(r.get('result'))}",
        "updated": shown(r.get("reported_at")),
    }
