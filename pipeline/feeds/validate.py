"""Split a page of raw records into valid ones (kept as raw JSON) and quarantined ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import structlog

from pipeline import jsontext
from pipeline.dates import update_time
from pipeline.errors import JSONDepthError, MalformedRecord
from pipeline.feed_registry import PARSERS
from pipeline.records import Quarantined

log = structlog.get_logger(__name__)

EXTRA_CELLS_KEY = "_extra_cells"
"""Key under which a CSV row's surplus cells (csv.DictReader's ``None`` key) appear in JSON payloads."""
TOO_DEEP = f"record is nested deeper than {jsontext.MAX_DEPTH} levels"
"""The reason a record nested deeper than :data:`pipeline.jsontext.MAX_DEPTH` is quarantined."""


class ValidRecord(NamedTuple):
    """A record that parsed: its id, its update time and the raw record as JSON text.

    ``updated_at`` is a fixed-width ISO UTC timestamp (``2018-06-21T21:56:00.000000+00:00``, so
    strings sort like times), or ``''`` when the record has none (removal rows, missing field).
    """

    record_id: str
    updated_at: str
    payload_json: str


def to_json(raw: object, *, limit_depth: bool = False) -> str:
    """The raw record as compact JSON text (non-ASCII kept; a CSV row's extra cells named) that
    either store keeps as text: NUL and lone surrogates escaped, JSON's own way, so the text
    decodes back to the record as served. A record too deep for the decoders (``Unreadable``)
    is kept as a JSON string of its text. ``limit_depth``: JSONDepthError for a record nested
    deeper than :data:`pipeline.jsontext.MAX_DEPTH`."""
    if isinstance(raw, jsontext.Unreadable):
        return jsontext.dumps(raw.text)
    if isinstance(raw, Mapping) and None in raw:
        raw = {(EXTRA_CELLS_KEY if k is None else k): v for k, v in raw.items()}
    return jsontext.dumps(raw, limit_depth=limit_depth)


def stamp_text(when: datetime) -> str:
    """A time in ``ValidRecord.updated_at``'s form, the store's: fixed-width ISO UTC."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _updated_at(record: Any) -> str:
    stamp = update_time(record)
    return "" if stamp is None else stamp_text(stamp)


def validate_page(
    feed: str, raw_records: Iterable[object], keep: list[Any] | None = None
) -> tuple[list[ValidRecord], list[Quarantined]]:
    """Parse each raw record with ``PARSERS[feed]``; the raw JSON is kept, and the typed record
    too when ``keep`` is given (appended in the order of the valid records).

    A record the parser rejects is quarantined with the parser's reason; one that makes the
    parser fail unexpectedly is quarantined too, and so is one nested deeper than
    :data:`pipeline.jsontext.MAX_DEPTH` (a bad record never stops a run).
    """
    parse = PARSERS[feed]
    valid: list[ValidRecord] = []
    quarantined: list[Quarantined] = []
    for raw in raw_records:
        if isinstance(raw, jsontext.Unreadable):  # left undecoded by the page's decoder: too deep
            quarantined.append(Quarantined(feed, None, TOO_DEEP, to_json(raw)))
            continue
        try:
            record = parse(raw)
        except MalformedRecord as exc:
            quarantined.append(Quarantined(feed, exc.record_id, exc.reason, to_json(raw)))
            continue
        except Exception as exc:  # a parser bug must not lose the record nor stop the run
            log.warning("feed.parser_failed", feed=feed, error=type(exc).__name__)
            reason = f"record could not be parsed ({type(exc).__name__})"
            quarantined.append(Quarantined(feed, None, reason, to_json(raw)))
            continue
        try:
            payload = to_json(raw, limit_depth=True)
        except JSONDepthError:  # fields the parser does not read may nest without end
            quarantined.append(Quarantined(feed, record.record_id, TOO_DEEP, to_json(raw)))
            continue
        valid.append(ValidRecord(record.record_id, _updated_at(record), payload))
        if keep is not None:
            keep.append(record)
    if quarantined:
        log.info("feed.quarantined", feed=feed, records=len(quarantined), valid=len(valid))
    return valid, quarantined
