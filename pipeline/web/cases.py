"""The console's case work: the parents-to-locate list, a case (assign, state, contact attempts,
a flag seen), the agencies' lists as downloads, and the same as JSON. Case workers and admins
only (a viewer gets 403 on every route here; the court's figures of case work are aggregates and
on the dashboard). Every state change carries the session's CSRF token; every answer that shows
children's or parents' data, every change and every download is on the audit trail (ids only).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from pipeline.errors import RunFailedError, StoreError
from pipeline.ops import cases as case_work
from pipeline.results import COHORTS
from pipeline.store.access import Session
from pipeline.store.cases import CaseStore
from pipeline.web.auth import CaseworkerSession, audit, check_csrf, console
from pipeline.web.pages import error_page, render
from pipeline.web.roles import allows

router = APIRouter()
PAGE_SIZE = 50
_FILTERS = ("kind", "cohort", "days", "location", "country", "facility", "assignee", "state", "flagged")
_SORTS = ("deadline", "days_unresolved", "case")
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _run(request: Request) -> str:
    c = console(request)
    run_id = case_work.current_run(c.store, c.settings)
    if run_id is None:
        raise RunFailedError("no successful run yet: run `reunify run` first")
    return run_id


def _workers(request: Request) -> list[str]:
    """The users a case can be given to: enabled case workers and admins."""
    return [
        u.name
        for u in console(request).access.list_users()
        if not u.disabled and allows(u.role, "caseworker")
    ]


def _page(params: Mapping[str, Any]) -> int:
    try:
        return max(1, int(str(params.get("page") or 1)))
    except ValueError:
        return 1


@router.get("/cases", include_in_schema=False)
def cases_page(request: Request, session: CaseworkerSession) -> Response:
    """Parents to locate: one case per parent (and per child whose parent is to be found),
    the earliest court deadline first, then the longest unresolved."""
    c = console(request)
    run_id = _run(request)
    run = c.store.get_run(run_id)
    assert run is not None
    params = request.query_params
    f = case_work.case_filter(params, c.settings, run.as_of)
    sort = str(params.get("sort") or "deadline")
    sort = sort if sort in _SORTS else "deadline"
    page = _page(params)
    cs = CaseStore(c.store)
    order = case_work.cohort_order(c.settings, run.as_of)
    total = cs.count_cases(run_id, f)
    found = cs.list_cases(
        run_id, f, cohort_order=order, sort=sort, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    rows = case_work.list_rows(c.store, c.settings, run_id, found)
    audit(request, session.user, "list_cases", [k for r in rows for k in r.child_ids], f"{len(rows)} cases")
    fields = {k: str(params.get(k) or "") for k in _FILTERS} | {"sort": sort}
    return render(
        request,
        "cases.html",
        run=run,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        fields=fields,
        query=urlencode({k: v for k, v in fields.items() if v}),
        cohorts=COHORTS,
        days=case_work.deadlines_by_cohort(c.settings, run.as_of),
        kinds=case_work.CASE_KINDS,
        states=case_work.CASE_STATES,
        locations=cs.distinct(run_id, "location_state"),
        countries=cs.distinct(run_id, "country"),
        facilities=cs.facilities(run_id),
        assignees=_workers(request),
        lists=case_work.LIST_PURPOSES,
        sorts=_SORTS,
    )


@router.get("/cases/{case_id}", include_in_schema=False)
def case_page(request: Request, session: CaseworkerSession, case_id: int) -> Response:
    """One case: the parent and the children, the work on it, the contact attempts, what happened."""
    c = console(request)
    view = case_work.case_view(c.store, c.settings, case_id)
    audit(request, session.user, "view_case", view.row.child_ids, f"case {case_id}")
    return render(
        request,
        "case.html",
        view=view,
        case=view.row.case,
        states=case_work.CASE_STATES,
        kinds=case_work.CASE_KINDS,
        channels=case_work.CONTACT_CHANNELS,
        languages=case_work.CONTACT_LANGUAGES,
        outcomes=case_work.CONTACT_OUTCOMES,
        wishes=case_work.STATED_WISHES,
        assignees=_workers(request),
        now=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
    )


async def _form(request: Request, session: Session) -> dict[str, str]:
    await check_csrf(request, session)
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


def _done(request: Request, session: Session, case_id: int, action: str, detail: str) -> Response:
    members = CaseStore(console(request).store).members([case_id])[case_id]
    audit(request, session.user, action, [m.child_key for m in members], f"case {case_id}: {detail}"[:500])
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/assign", include_in_schema=False)
async def assign(request: Request, session: CaseworkerSession, case_id: int) -> Response:
    """Give the case to a case worker (or to nobody)."""
    form = await _form(request, session)
    who = form.get("assignee", "").strip() or None
    if who is not None and who not in _workers(request):
        return error_page(request, 400, f"{who!r} is not a case worker: choose one from the list")
    CaseStore(console(request).store).assign(case_id, who, session.user.name)
    return _done(request, session, case_id, "case_assign", f"to {who or 'nobody'}")


@router.post("/cases/{case_id}/state", include_in_schema=False)
async def set_state(request: Request, session: CaseworkerSession, case_id: int) -> Response:
    """Move the case on (open, contacting, located, closed with a reason)."""
    form = await _form(request, session)
    state = form.get("state", "")
    try:
        CaseStore(console(request).store).set_state(case_id, state, session.user.name, form.get("reason"))
    except StoreError as exc:
        return error_page(request, 400, str(exc))
    return _done(request, session, case_id, "case_state", state)


def _when(text: str) -> datetime:
    # the form's datetime-local is UTC (the page says so); seconds and an offset are accepted too
    value = datetime.fromisoformat(text.strip())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.post("/cases/{case_id}/attempts", include_in_schema=False)
async def add_attempt(request: Request, session: CaseworkerSession, case_id: int) -> Response:
    """Record a contact attempt (appended, never changed), authored by the session's user."""
    form = await _form(request, session)
    try:
        attempted_at = _when(form.get("attempted_at") or datetime.now(UTC).isoformat())
        due_text = (form.get("next_action_due") or "").strip()
        due = date.fromisoformat(due_text) if due_text else None
    except ValueError:
        return error_page(request, 400, "the attempt's time or the due date is not a date: use the pickers")
    try:
        attempt = CaseStore(console(request).store).add_attempt(
            case_id,
            attempted_at=attempted_at,
            channel=form.get("channel", ""),
            language=form.get("language", ""),
            outcome=form.get("outcome", ""),
            wish=form.get("wish") or None,
            notes=form.get("notes", "").strip(),
            next_action=form.get("next_action", "").strip(),
            next_action_due=due,
            author=session.user.name,
        )
    except StoreError as exc:
        return error_page(request, 400, str(exc))
    return _done(request, session, case_id, "case_attempt", f"attempt {attempt.id}")


@router.post("/cases/{case_id}/seen", include_in_schema=False)
async def flag_seen(request: Request, session: CaseworkerSession, case_id: int) -> Response:
    """A case worker has looked at the case's flag."""
    await _form(request, session)
    CaseStore(console(request).store).clear_flag(case_id, session.user.name)
    return _done(request, session, case_id, "case_flag_seen", "flag cleared")


@router.post("/cases/lists/{name}", include_in_schema=False)
async def download_list(request: Request, session: CaseworkerSession, name: str) -> Response:
    """One of the agencies' lists as CSV or XLSX (text never runs as a formula); on the audit trail."""
    form = await _form(request, session)
    fmt = form.get("format", "csv")
    if fmt not in case_work.LIST_FORMATS:
        return error_page(request, 400, f"format is one of {', '.join(case_work.LIST_FORMATS)}")
    c = console(request)
    found = case_work.agency_list(c.store, c.settings, name)
    audit(request, session.user, "download_list", found.child_ids, f"{name}.{fmt}: {len(found.rows)} rows")
    headers = {"Content-Disposition": f'attachment; filename="reunify-{name}.{fmt}"'}
    return Response(case_work.list_bytes(found, fmt), media_type=_MEDIA[fmt], headers=headers)


# -- JSON ------------------------------------------------------------------------------------


def _case_json(row: case_work.ListRow) -> dict[str, Any]:
    case = row.case
    return {
        "case": case.id,
        "kind": case.kind,
        "state": case.state,
        "close_reason": case.close_reason,
        "assignee": case.assignee,
        "flag": case.flag,
        "cohort": case.cohort,
        "days_to_deadline": row.days_to_deadline,
        "days_unresolved": case.days_unresolved,
        "location_state": case.location_state,
        "country": case.country,
        "parent": row.parent,
        "children": [
            {"child_key": m.child_key, "status": m.status, "cohort": m.cohort, "facility": m.facility}
            for m in row.members
        ],
    }


@router.get("/api/cases")
def api_cases(
    request: Request,
    session: CaseworkerSession,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """A page of the parents-to-locate list (filters as the page's query parameters)."""
    c = console(request)
    run_id = _run(request)
    run = c.store.get_run(run_id)
    assert run is not None
    f = case_work.case_filter(request.query_params, c.settings, run.as_of)
    cs = CaseStore(c.store)
    found = cs.list_cases(
        run_id, f, cohort_order=case_work.cohort_order(c.settings, run.as_of), offset=offset, limit=limit
    )
    rows = case_work.list_rows(c.store, c.settings, run_id, found)
    audit(request, session.user, "list_cases", [k for r in rows for k in r.child_ids], f"{len(rows)} cases")
    return {
        "run_id": run_id,
        "total": cs.count_cases(run_id, f),
        "offset": offset,
        "cases": [_case_json(r) for r in rows],
    }


@router.get("/api/cases/{case_id}")
def api_case(request: Request, session: CaseworkerSession, case_id: int) -> dict[str, Any]:
    """One case with its contact attempts and events."""
    c = console(request)
    view = case_work.case_view(c.store, c.settings, case_id)
    audit(request, session.user, "view_case", view.row.child_ids, f"case {case_id}")
    return _case_json(view.row) | {
        "identity": view.identity,
        "attempts": [
            {
                "id": a.id,
                "attempted_at": a.attempted_at.isoformat(),
                "channel": a.channel,
                "language": a.language,
                "outcome": a.outcome,
                "wish": a.wish,
                "notes": a.notes,
                "next_action": a.next_action,
                "next_action_due": a.next_action_due.isoformat() if a.next_action_due else None,
                "author": a.author,
            }
            for a in view.attempts
        ],
        "events": [
            {"at": e.at.isoformat(), "who": e.who, "event": e.event, "detail": e.detail} for e in view.events
        ],
    }
