"""Removal list: one CSV stream, read in batches of rows without holding the body (contract 3.3)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, date, datetime

import structlog

from pipeline.feeds.http import BadPage, FeedClient
from pipeline.parse import REMOVAL_COLUMNS

log = structlog.get_logger(__name__)

NAME = "removals"
PATH = "/v1/removals.csv"
BATCH_SIZE = 5000


def check_header(line: str) -> None:
    """Raise BadPage unless the first line is a CSV header naming REMOVAL_ID (not, say, an HTML page)."""
    columns = next(csv.reader([line]), [])
    if "REMOVAL_ID" not in [c.strip() for c in columns]:
        raise BadPage("the CSV does not start with the removal list's header")


def since_date(since: datetime | date | None) -> str | None:
    """``since`` as the feed's ``YYYY-MM-DD`` (a datetime counts by its UTC date)."""
    if since is None:
        return None
    if isinstance(since, datetime):
        since = (since if since.tzinfo else since.replace(tzinfo=UTC)).astimezone(UTC).date()
    return since.isoformat()


def fetch(
    client: FeedClient, since: datetime | date | None = None, *, batch_size: int = BATCH_SIZE
) -> Iterator[list[object]]:
    """Every row as a dict keyed by the header (``csv.DictReader``: extra cells under the key None,
    missing cells None, so the parser quarantines them), in batches of ``batch_size``. A dropped
    connection restarts the stream and skips the lines already read: each row comes once."""
    lines = client.iter_lines(
        PATH, {"since": since_date(since)}, check_first_line=check_header, what="removals.csv"
    )
    reader = csv.DictReader(lines)
    batch: list[object] = []
    batches = rows = 0
    for row in reader:
        batch.append(row)
        if len(batch) >= batch_size:
            batches, rows = batches + 1, rows + len(batch)
            log.debug("feed.page", feed=NAME, page=batches, records=len(batch))
            yield batch
            batch = []
    if batch:
        batches, rows = batches + 1, rows + len(batch)
        log.debug("feed.page", feed=NAME, page=batches, records=len(batch))
        yield batch
    if reader.fieldnames is not None and tuple(f.strip() for f in reader.fieldnames) != REMOVAL_COLUMNS:
        log.warning("feed.unexpected_columns", feed=NAME, columns=len(reader.fieldnames))
    log.info("feed.fetched", feed=NAME, pages=batches, records=rows)
