"""Removal list: one CSV stream, read in batches of rows without holding the body (contract 3.3)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import structlog

from pipeline.errors import FeedProtocolError
from pipeline.feed_registry import shown
from pipeline.feeds.http import BadPage, FeedClient
from pipeline.parse import REMOVAL_COLUMNS

log = structlog.get_logger(__name__)

NAME = "removals"
PATH = "/v1/removals.csv"
BATCH_SIZE = 5000


def header_columns(columns: list[str]) -> tuple[str, ...]:
    """Header names as compared with the contract's: surrounding whitespace and a BOM dropped."""
    return tuple(c.strip().lstrip("\ufeff").strip() for c in columns)


def check_header(line: str) -> None:
    """Raise BadPage unless the first line is exactly the contract's header (``""``: an empty body).

    Rows read under other column names would all be quarantined and the run would publish "no
    removals"; an HTML error page or an empty body likewise. The message never echoes the line:
    a missing header means the first line is a person's row.
    """
    if not line.strip():
        raise BadPage("the body is empty: no header row, so no removal list")
    columns = header_columns(next(csv.reader([line]), []))
    if columns != REMOVAL_COLUMNS:
        raise BadPage(
            f"the first line is not the removal list's header {','.join(REMOVAL_COLUMNS)} "
            f"(it has {len(columns)} columns, {len(set(columns) - set(REMOVAL_COLUMNS))} of them unknown)"
        )


def since_date(since: datetime | date | None) -> str | None:
    """``since`` as the feed's ``YYYY-MM-DD`` (a datetime counts by its UTC date)."""
    if since is None:
        return None
    if isinstance(since, datetime):
        since = (since if since.tzinfo else since.replace(tzinfo=UTC)).astimezone(UTC).date()
    return since.isoformat()


class CsvRows:
    """``csv.DictReader`` over ``lines`` for a known header, at about half its cost a row.

    The same dicts (keyed by ``fieldnames``; surplus cells under the key None, missing cells
    None; blank lines skipped) and the same ``line_num`` at every point, a failure's included:
    DictReader's ``__next__`` looks up its properties and lengths again for every row, which
    costs as much as the CSV parsing itself over a long list. The first line read is the header
    (``header``; None for an empty body) and is replaced by ``fieldnames`` as given.
    """

    def __init__(self, lines: Iterator[str], fieldnames: Sequence[str], *, strict: bool = True) -> None:
        self._reader = csv.reader(lines, strict=strict)
        self.fieldnames = list(fieldnames)
        self.line_num = 0
        self.header: list[str] | None = None
        self._started = False

    def read_header(self) -> list[str] | None:
        """Read the header line (csv.Error when it cannot be parsed); None for an empty body."""
        self._started = True
        self.header = next(self._reader, None)
        self.line_num = self._reader.line_num
        return self.header

    def __iter__(self) -> Iterator[dict[str | None, Any]]:
        if not self._started:
            self.read_header()
        reader, fields = self._reader, self.fieldnames
        width = len(fields)
        after_blank = False
        for cells in reader:
            # DictReader's line number: the reader's after each row it returns, and after the
            # first of the blank lines it skips (a failure further on leaves it there)
            if not cells:
                if not after_blank:
                    self.line_num = reader.line_num
                    after_blank = True
                continue
            after_blank = False
            self.line_num = reader.line_num
            row: dict[str | None, Any] = dict(zip(fields, cells, strict=False))  # unequal: below
            if len(cells) != width:
                if len(cells) > width:
                    row[None] = cells[width:]
                else:
                    for key in fields[len(cells) :]:
                        row[key] = None
            yield row


def fetch(
    client: FeedClient, since: datetime | date | None = None, *, batch_size: int = BATCH_SIZE
) -> Iterator[list[object]]:
    """Every row as a dict keyed by the contract's columns (as ``csv.DictReader`` gives it: extra
    cells under the key None, missing cells None, so the parser quarantines them), in batches of
    ``batch_size``. A dropped connection restarts the stream and skips the lines already read:
    each row comes once, and the CSV reader sees the whole logical file (a quoted field may hold
    newlines). A body with no header or another header fails the feed; a header alone is an
    empty list. Quotes are read strictly: a CSV that ends inside a quoted field (an unterminated
    quote swallows every row after it) or with a stray quote fails the feed, since which rows it
    ate cannot be known."""
    lines = client.iter_lines(
        PATH, {"since": since_date(since)}, check_first_line=check_header, what="removals.csv"
    )
    # the checked header's columns, without its whitespace
    reader = CsvRows(lines, REMOVAL_COLUMNS, strict=True)
    batch: list[object] = []
    batches = rows = 0
    try:
        if reader.read_header() is None:  # iter_lines checked the header; the stream ended before it
            raise FeedProtocolError(NAME, "removals.csv: the body is empty: no header row")
        for row in reader:
            batch.append(row)
            if len(batch) >= batch_size:
                batches, rows = batches + 1, rows + len(batch)
                log.debug("feed.page", feed=NAME, page=batches, records=len(batch))
                yield batch
                batch = []
    except csv.Error as exc:
        log.error("feed.broken_csv", feed=NAME, line=reader.line_num)
        raise FeedProtocolError(NAME, _csv_failure(exc, reader.line_num, rows + len(batch))) from None
    finally:
        lines.close()
    if batch:
        batches, rows = batches + 1, rows + len(batch)
        log.debug("feed.page", feed=NAME, page=batches, records=len(batch))
        yield batch
    log.info("feed.fetched", feed=NAME, pages=batches, records=rows)


def _csv_failure(exc: csv.Error, line: int, rows: int) -> str:
    """What broke in the CSV, by line number and never by content."""
    text = str(exc)
    if "end of data" in text:
        what = "the CSV ends inside a quoted field (an unterminated quote swallowed the rest of the file)"
    elif "field limit" in text:
        what = (
            "a quoted field runs past csv's field limit (an unterminated quote swallowing the rows after it)"
        )
    elif "expected after" in text:
        what = "a quote is followed by something other than a comma or the end of the line (a stray quote)"
    else:
        what = f"the CSV cannot be read ({text})"
    return f"removals.csv: {what}, at line {line:,} after {rows:,} rows; nothing from this list is used"


def view(r: Mapping[str, Any]) -> dict[str, str]:
    """A removal row as an operator reads it (the display fields of pipeline.ops.records_view)."""
    return {
        "A-number": shown(r.get("A_NUMBER")),
        "name": f"{shown(r.get('FIRST_NAME'))} {shown(r.get('LAST_NAME'))}".strip(),
        "date of birth": shown(r.get("DOB")),
        "country": shown(r.get("COUNTRY")),
        "discharge / removal": f"removed {shown(r.get('REMOVAL_DATE'))} via {shown(r.get('PORT'))}",
    }
