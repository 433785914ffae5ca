"""Helpers the operators' tools share: the run to read, and text and Markdown tables whose cells
go through the escapers of :mod:`pipeline.ops.escape` (cells hold feed text)."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.errors import NotFoundError, RunFailedError
from pipeline.ops.escape import md_text, term_text
from pipeline.store import RunInfo, Store


def resolve_run(store: Store, run_id: str | None) -> RunInfo:
    """The succeeded run to read: ``run_id``, or the latest succeeded one."""
    if run_id is None:
        run = store.latest_succeeded_run()
        if run is None:
            raise RunFailedError("no successful run yet: run `reunify run` first")
        return run
    run = store.get_run(run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r} in the store: `reunify runs` lists them")
    if run.status != "succeeded":
        raise NotFoundError(f"run {run_id} {run.status}; only succeeded runs have results (`reunify runs`)")
    return run


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> str:
    """A plain text table: columns padded to their widest cell, ``right`` columns right-aligned;
    control characters in a cell are shown escaped (:func:`term_text`)."""
    cells = [[term_text(h) for h in headers]] + [[term_text(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> str:
    """A Markdown (GFM) table; every cell is inert text (:func:`md_text`: HTML and Markdown
    escaped, one line)."""
    head = "| " + " | ".join(md_text(h) for h in headers) + " |"
    rule = "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"
    body = ["| " + " | ".join(md_text(c) for c in row) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def ids(values: Sequence[str] | None) -> str:
    """Record ids joined for display (feed ids: control characters shown escaped)."""
    return term_text(", ".join(values or [])) or "-"
