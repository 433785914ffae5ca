"""The export's formats: JSON Lines (exact), and the flat table for spreadsheets as CSV or XLSX,
whose text cells can never run as formulas (OWASP's CSV injection guidance)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any, TextIO

from pipeline.ops.escape import csv_cell, json_text, term_text
from pipeline.ops.result_row import ParentRow, ResultRow

CSV_COLUMNS = (
    "child_record_ids",
    "a_number",
    "name",
    "date_of_birth",
    "age_years",
    "cohort",
    "status",
    "reasons",
    "parent_ice_record_ids",
    "parent_removal_record_ids",
    "parent_a_number",
    "parent_name",
    "match_score",
    "evidence",
    "location_state",
    "location_resolved",
    "location_facility",
    "location_country",
    "location_since",
    "days_unresolved",
    "needs_review",
    "run_id",
)
# a child with no parent found: every parent column empty
_NO_PARENT = ParentRow((), (), None, None, None, ())


def _flatten(obj: dict[str, Any]) -> dict[str, Any]:
    """One export object as a CSV row: numbers as numbers, everything else (flags, dates, ids,
    names) as text."""
    row = ResultRow.of(obj)
    parent = row.parent or _NO_PARENT
    loc = row.parent_location
    return {
        "child_record_ids": ";".join(row.child_record_ids),
        "a_number": row.a_number or "",
        "name": row.name or "",
        "date_of_birth": row.date_of_birth or "",
        "age_years": "" if row.age_years is None else row.age_years,
        "cohort": row.cohort,
        "status": row.status,
        "reasons": ";".join(row.reasons),
        "parent_ice_record_ids": ";".join(parent.ice_record_ids),
        "parent_removal_record_ids": ";".join(parent.removal_record_ids),
        "parent_a_number": parent.a_number or "",
        "parent_name": parent.name or "",
        "match_score": "" if parent.match_score is None else parent.match_score,
        "evidence": " | ".join(parent.evidence),
        "location_state": loc.state,
        "location_resolved": str(loc.resolved),
        "location_facility": loc.facility or "",
        "location_country": loc.country or "",
        "location_since": loc.since or "",
        "days_unresolved": "" if loc.days_unresolved is None else loc.days_unresolved,
        "needs_review": str(row.needs_review),
        "run_id": row.run_id,
    }


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    # Text cells hold feed values: shown as a person reads them (controls escaped) and never
    # starting a formula; numbers stay numbers (a negative count is not a formula).
    return {
        key: csv_cell(term_text(value)) if isinstance(value, str) else value
        for key, value in _flatten(row).items()
    }


def write_export(rows: Iterable[dict[str, Any]], fmt: str, out: TextIO) -> int:
    """Write export objects as JSON lines or CSV; returns how many were written.

    JSON lines keep every value exactly (characters a terminal acts on as ``\\u`` escapes). CSV
    is for spreadsheets, as OWASP's CSV injection guidance says: every text cell is quoted (a
    quote or separator in it cannot start another cell), one that would start a formula gets a
    leading ``'``, and control characters are shown escaped; numbers are written bare.
    """
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, quoting=csv.QUOTE_NONNUMERIC)
        writer.writeheader()
        for row in rows:
            writer.writerow(_csv_row(row))
            count += 1
    else:
        for row in rows:
            out.write(json_text(json.dumps(row, ensure_ascii=False, sort_keys=True)) + "\n")
            count += 1
    return count


def write_xlsx(rows: Iterable[dict[str, Any]], out: IO[bytes], title: str = "children") -> int:
    """Write export objects as one XLSX sheet (the CSV's columns); returns how many were written.

    Every text cell is typed as a string, so a name starting with ``=`` is shown, never
    evaluated; control characters are shown escaped (XLSX cannot hold them).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(CSV_COLUMNS))
    count = 0
    for row in rows:
        cells = []
        for value in _flatten(row).values():
            cell = WriteOnlyCell(sheet, value=term_text(value) if isinstance(value, str) else value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        sheet.append(cells)
        count += 1
    book.save(out)
    return count


def write_table_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO) -> int:
    """Any table (the agencies' lists) as CSV, the export's way: text cells quoted, shown escaped
    and never starting a formula, numbers bare; returns how many rows were written."""
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([csv_cell(c) for c in columns])
    count = 0
    for row in rows:
        writer.writerow([csv_cell(term_text(v)) if isinstance(v, str) else v for v in row])
        count += 1
    return count


def write_table_xlsx(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[bytes], title: str = "list"
) -> int:
    """Any table as one XLSX sheet, every text cell typed as a string (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(columns))
    count = 0
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=term_text(value) if isinstance(value, str) else value)
            if isinstance(value, str):
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
        count += 1
    book.save(out)
    return count
