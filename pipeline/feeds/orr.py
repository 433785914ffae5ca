"""HHS/ORR children feed: JSON pages behind an opaque cursor (contract 3.1)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

import structlog

from pipeline.feed_registry import shown
from pipeline.feeds.http import BadPage, FeedClient, format_since

log = structlog.get_logger(__name__)

NAME = "orr"
PATH = "/v1/children"
MAX_PAGE_SIZE = 1000


def check_page(body: Any) -> None:
    """Raise BadPage unless the body is ``{"children": [...], "next_cursor": str | null}``."""
    if not isinstance(body, dict):
        raise BadPage("page is not a JSON object")
    if not isinstance(body.get("children"), list):
        raise BadPage("page has no 'children' list")
    cursor = body.get("next_cursor")
    if cursor is not None and (not isinstance(cursor, str) or not cursor):
        raise BadPage("'next_cursor' is neither a string nor null")


def fetch(
    client: FeedClient, since: datetime | date | None = None, *, page_size: int | None = None
) -> Iterator[list[object]]:
    """Every child record as served (malformed ones too), one list per page; follows ``next_cursor``."""
    limit = max(1, min(MAX_PAGE_SIZE, page_size or client.page_size or MAX_PAGE_SIZE))
    updated_since = format_since(since)
    cursor: str | None = None
    seen: set[str] = set()
    pages = records = 0
    while True:
        params = {"limit": limit, "updated_since": updated_since, "cursor": cursor}
        page = client.get_page(PATH, params, check=check_page, what=f"children page {pages + 1}")
        children: list[object] = page.body["children"]
        pages += 1
        records += len(children)
        log.debug("feed.page", feed=NAME, page=pages, records=len(children))
        yield children
        cursor = page.body.get("next_cursor")
        if cursor is None:
            break
        if cursor in seen:
            raise client.protocol_error("the feed sent a cursor it had sent before (pagination loop)")
        if pages >= client.max_pages:
            raise client.page_limit_error(pages, f"children page {pages}")
        seen.add(cursor)
    log.info("feed.fetched", feed=NAME, pages=pages, records=records)


def view(r: Mapping[str, Any]) -> dict[str, str]:
    """A child record as an operator reads it (the display fields of pipeline.ops.records_view)."""
    app = r.get("apprehension") or {}
    rep = r.get("reportedParent") or {}
    dis = r.get("discharge") or {}
    return {
        "A-number": shown(r.get("aNumber")),
        "name": f"{shown(r.get('firstName'))} {shown(r.get('lastName'))}".strip(),
        "date of birth": shown(r.get("dateOfBirth")),
        "sex": shown(r.get("sex")),
        "country": shown(r.get("countryOfBirth")),
        "apprehension": " ".join(
            x for x in (shown(app.get("eventId")), shown(app.get("date")), shown(app.get("station"))) if x
        ),
        "custody / facility": " ".join(
            x
            for x in (
                shown(r.get("facilityId")),
                shown(r.get("facilityName")),
                f"admitted {shown(r.get('admittedAt'))}",
            )
            if x
        ),
        "reported parent / claimed children": f"{shown(rep.get('name'))} ({shown(rep.get('relation'))})"
        if rep
        else "",
        "discharge / removal": f"{shown(dis.get('type'))} {shown(dis.get('date'))}".strip() if dis else "",
        "updated": shown(r.get("updatedAt")),
    }
