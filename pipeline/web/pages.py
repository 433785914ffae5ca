"""The console's pages: login, dashboard, children, a child, runs (and two compared), quarantine,
discrepancies, the court report and the audit trail. Rendered on the server by Jinja2 with
autoescape on; the data comes from the services in :mod:`pipeline.ops` and the store's browse
queries. A name typed into the search travels in a POST body, never in a URL.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pipeline.errors import AccessError, NotFoundError
from pipeline.metrics import stage_durations
from pipeline.ops import cases as case_work
from pipeline.ops import charts
from pipeline.ops import report as court_report
from pipeline.ops import review as review_queue
from pipeline.ops.discrepancies import KINDS, find_discrepancies
from pipeline.ops.export import write_export, write_xlsx
from pipeline.ops.history import duration
from pipeline.ops.quality import estimate as precision_estimate
from pipeline.ops.story import child_story
from pipeline.ops.summary import build_summary
from pipeline.results import COHORTS, STATUS_WORDS, STATUSES
from pipeline.run.launch import run_actions
from pipeline.store.access import Session
from pipeline.store.browse import (
    SORTS,
    ChildFilter,
    browse_children,
    count_children,
    facet_values,
    iter_filtered_results,
)
from pipeline.store.history import child_key
from pipeline.web import waterfall
from pipeline.web.accounts import authenticate
from pipeline.web.auth import (
    AdminSession,
    CaseworkerSession,
    ViewerSession,
    audit,
    check_csrf,
    console,
    current_session,
)
from pipeline.web.notices import RUN_NOTICE, notice
from pipeline.web.roles import allows
from pipeline.web.sessions import LOGIN_COOKIE, SESSION_COOKIE

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
# The court report is one self-contained page (inline CSS and SVG, no script at all).
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page, with the session's user, role and CSRF token for its forms and menus."""
    session = current_session(request)
    context |= {
        "session": session,
        "user": session.user if session else None,
        "csrf": session.csrf_token if session else "",
        "can": (lambda role: session is not None and allows(session.user.role, role)),
        "status_words": STATUS_WORDS,
    }
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status_code
    )
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An error page with the reason."""
    return render(request, "error.html", status_code=status, status=status, message=message)


# -- login -----------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    # only a path of this site: never another origin ("//evil", "https://evil", "/\\evil")
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _login_form(
    request: Request, next_path: str, error: str | None = None, status: int = 200
) -> HTMLResponse:
    token, cookie = console(request).sessions.login_token()
    response = render(
        request, "login.html", status_code=status, login_csrf=token, next=next_path, error=error
    )
    response.set_cookie(
        LOGIN_COOKIE,
        cookie,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The login form (already logged in: on to the page asked for)."""
    if current_session(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, _safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Check the name and password; on success a new session and on to ``next``."""
    c = console(request)
    if not c.sessions.login_token_ok(request.cookies.get(LOGIN_COOKIE), csrf_token):
        return _login_form(request, _safe_next(next), "the login form was stale: please try again", 403)
    try:
        user = authenticate(c.access, c.settings, username, password)
    except AccessError as exc:
        return _login_form(request, _safe_next(next), str(exc), 401)
    c.sessions.end(request.cookies.get(SESSION_COOKIE))  # a new session id at login: no fixation
    c.access.audit(user, "login", "/login")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        c.sessions.open(user),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session. A browser must send the form's CSRF token; a client that is not a browser
    (no Origin header) cannot be made to post by another site and may log out without it."""
    session = current_session(request)
    if session is not None:
        if request.headers.get("origin") is not None:
            await check_csrf(request, session)
        console(request).sessions.end(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- dashboard -------------------------------------------------------------------------------


@router.get("/")
def dashboard(request: Request, session: ViewerSession) -> Response:
    """The court's questions at a glance, and the run in progress (updated by /static/console.js)."""
    c = console(request)
    store = c.store
    last = next(iter(store.list_runs(limit=1)), None)
    published = store.latest_succeeded_run()
    summary = build_summary(store, c.settings, published.id) if published else None
    # the queue's own count (the matcher's flags are only one of its reasons: low scores, DNA
    # exclusions and reopened decisions join them, ended cases leave it), so the figure and the
    # /review tab agree
    in_queue = None
    if published is not None:
        order = case_work.cohort_order(c.settings, published.as_of)
        in_queue, _ = review_queue.review_queue_page(store, published.id, "pending", order, 0, 0)
    chart = ""
    trend = ""
    if summary is not None:
        cells = {(s, co): summary.by_cohort_status[co][s] for co in COHORTS for s in STATUSES}
        chart = charts.status_by_cohort(cells, STATUSES, COHORTS)
        trend = charts.unresolved_over_runs(
            [(t.run_id, t.as_of.isoformat(), t.unresolved, t.children) for t in summary.trend]
        )
    return render(
        request,
        "dashboard.html",
        summary=summary,
        in_queue=in_queue,
        last=last,
        statuses=STATUSES,
        cohorts=COHORTS,
        chart=chart,
        trend=trend,
        case_head=case_work.FIGURE_HEAD,
        case_keys=case_work.FIGURE_KEYS,
        quality=precision_estimate(store),
        share=c.settings.quality_sample_share,
    )


# -- children --------------------------------------------------------------------------------


def _flag(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _filter(params: Mapping[str, Any]) -> ChildFilter:
    def get(name: str) -> str | None:
        value = params.get(name)
        return str(value).strip() or None if value is not None else None

    return ChildFilter(
        status=get("status"),
        cohort=get("cohort"),
        facility=get("facility"),
        country=get("country"),
        needs_review=_flag(get("needs_review")),
        unresolved=_flag(get("unresolved")),
        search=get("q"),
    )


def _children_page(request: Request, session: Session, params: Mapping[str, Any]) -> Response:
    c = console(request)
    run = c.store.latest_succeeded_run()
    if run is None:
        return error_page(request, 409, "no successful run yet: run `reunify run` first")
    f = _filter(params)
    sort = str(params.get("sort") or "child")
    sort = sort if sort in SORTS else "child"
    descending = str(params.get("dir") or "") == "desc"
    try:
        page = max(1, int(str(params.get("page") or 1)))
    except ValueError:
        page = 1
    total = count_children(c.store, run.id, f)
    rows = browse_children(
        c.store, run.id, f, sort=sort, descending=descending, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    audit(request, session.user, "list_children", [r.child_key for r in rows], "search" if f.search else "")
    fields = {
        k: ("" if getattr(f, k) is None else getattr(f, k))
        for k in ("status", "cohort", "facility", "country")
    }
    fields |= {
        "needs_review": {True: "yes", False: "no"}.get(f.needs_review, ""),  # type: ignore[arg-type]
        "unresolved": {True: "yes", False: "no"}.get(f.unresolved, ""),  # type: ignore[arg-type]
        "q": f.search or "",
        "sort": sort,
        "dir": "desc" if descending else "",
    }
    return render(
        request,
        "children.html",
        run=run,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        fields=fields,
        facets=facet_values(c.store, run.id),
        statuses=STATUSES,
        cohorts=COHORTS,
        sorts=list(SORTS),
        # GET links may carry the filters (codes only); a search term never goes in a URL
        query=urlencode({k: v for k, v in fields.items() if v and k != "q"}),
    )


@router.get("/children")
def children_get(request: Request, session: CaseworkerSession) -> Response:
    """The children table, filtered by the query's codes (status, cohort, ...)."""
    return _children_page(request, session, request.query_params)


@router.post("/children")
async def children_post(request: Request, session: CaseworkerSession) -> Response:
    """The children table for a search or a filter posted by the page's form."""
    await check_csrf(request, session)
    return _children_page(request, session, dict(await request.form()))


@router.post("/children/download")
async def children_download(request: Request, session: CaseworkerSession) -> Response:
    """The filtered children as CSV or XLSX (text cells never run as formulas); on the audit trail."""
    await check_csrf(request, session)
    form = dict(await request.form())
    c = console(request)
    run = c.store.latest_succeeded_run()
    if run is None:
        return error_page(request, 409, "no successful run yet")
    rows = list(iter_filtered_results(c.store, run.id, _filter(form)))
    fmt = "xlsx" if form.get("format") == "xlsx" else "csv"
    audit(request, session.user, f"download_{fmt}", [child_key(r) for r in rows], f"{len(rows)} children")
    name = f"reunify-children-{run.id[:12]}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "xlsx":
        buf = io.BytesIO()
        write_xlsx(rows, buf)
        return Response(
            buf.getvalue(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers=headers,
        )
    text = io.StringIO()
    write_export(rows, "csv", text)
    return Response(text.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/children/{child_record_id}")
def child_page(request: Request, session: CaseworkerSession, child_record_id: str) -> Response:
    """One child's story: records across feeds, parent and runner-ups, the evidence's waterfall,
    DNA, status over runs, review decisions."""
    story = child_story(console(request).store, child_record_id)
    r = story.case.result
    audit(request, session.user, "view_child", list(r["child_record_ids"]), f"child {child_key(r)}")
    parent = r.get("parent")
    chart = (
        waterfall.render(parent.get("evidence") or [], float(parent.get("match_score") or 0.0))
        if parent
        else ""
    )
    notes = (
        waterfall.bars(parent.get("evidence") or [], float(parent.get("match_score") or 0.0))[1]
        if parent
        else []
    )
    return render(
        request,
        "child.html",
        story=story,
        r=r,
        chart=chart,
        notes=notes,
        child_cases=case_work.child_cases(console(request).store, console(request).settings, child_key(r)),
        case_kinds=case_work.CASE_KINDS,
        case_states=case_work.CASE_STATES,
        attempt_line=case_work.attempt_line,
    )


# -- runs ------------------------------------------------------------------------------------


@router.get("/runs")
def runs_page(request: Request, session: ViewerSession) -> Response:
    """The run history: outcome, duration, records and quarantine per feed, errors, accepted drops."""
    c = console(request)
    runs = c.store.list_runs(limit=100)
    succeeded = [r for r in runs if r.status == "succeeded"]
    return render(
        request,
        "runs.html",
        runs=runs,
        succeeded=succeeded,
        duration=duration,
        actions=run_actions(c.store) if allows(session.user.role, "admin") else None,
        notice=notice(request, RUN_NOTICE),
    )


@router.get("/runs/compare")
def compare_page(request: Request, session: ViewerSession, a: str, b: str) -> Response:
    """Two succeeded runs compared: which children changed status (and how), counts for a viewer,
    the children's ids for a case worker."""
    c = console(request)
    before, after = c.store.get_run(a), c.store.get_run(b)
    for run, rid in ((before, a), (after, b)):
        if run is None or run.status != "succeeded":
            raise NotFoundError(f"run {rid} is not a succeeded run: only those have results")
    assert before is not None and after is not None
    changes = court_report.compare_runs(c.store.iter_history(run_id=a), c.store.iter_history(run_id=b))
    transitions: dict[tuple[str, str], int] = {}
    for ch in changes.status_changes:
        key = (str(ch.before), str(ch.after))
        transitions[key] = transitions.get(key, 0) + 1
    show_ids = allows(session.user.role, "caseworker")
    if show_ids:
        ids = [ch.child_key for _, items in changes.sections() for ch in items]
        audit(request, session.user, "compare_runs", ids, f"runs {a} and {b}")
    return render(
        request,
        "compare.html",
        before=before,
        after=after,
        changes=changes,
        transitions=sorted(transitions.items(), key=lambda kv: -kv[1]),
        show_ids=show_ids,
    )


@router.get("/runs/{run_id}")
def run_page(request: Request, _s: ViewerSession, run_id: str) -> Response:
    """One run: outcome, stage durations, records per feed, every gate's verdict, accepted drops."""
    store = console(request).store
    run = store.get_run(run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r}")
    return render(
        request,
        "run.html",
        run=run,
        stages=stage_durations(run, store.list_steps(run.id)),
        checks=store.list_gate_checks(run.id),
        duration=duration,
    )


@router.get("/runs/{run_id}/quarantine")
def quarantine_page(request: Request, session: CaseworkerSession, run_id: str) -> Response:
    """A run's quarantined records with their reasons (the payloads: admins only)."""
    store = console(request).store
    if store.get_run(run_id) is None:
        raise NotFoundError(f"no run {run_id!r}")
    items = store.list_quarantine(run_id)
    payloads = allows(session.user.role, "admin")
    if payloads:
        audit(request, session.user, "view_quarantine", [q.record_id or "" for q in items], f"run {run_id}")
    return render(request, "quarantine.html", run_id=run_id, items=items, payloads=payloads)


@router.get("/runs/{run_id}/discrepancies")
def discrepancies_page(request: Request, _s: CaseworkerSession, run_id: str) -> Response:
    """Conflicts between the agencies' records in a run, by record id and field (no values)."""
    c = console(request)
    run, found = find_discrepancies(c.store, run_id, c.settings.clock_skew_seconds)
    return render(request, "discrepancies.html", run=run, found=found, kinds=KINDS)


@router.get("/report")
def report_page(request: Request, _s: ViewerSession, run: str | None = None) -> Response:
    """The court report of a published run (the numbers of `reunify report`, no names), printable."""
    c = console(request)
    rep = court_report.build_report(c.store, c.settings, run)
    response = HTMLResponse(court_report.render_html(rep))
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response


@router.get("/audit")
def audit_page(request: Request, _s: AdminSession, user: str | None = None) -> Response:
    """The audit trail, newest first."""
    entries = console(request).access.list_audit(username=user or None, limit=500)
    return render(request, "audit.html", entries=entries, who=user or "")
