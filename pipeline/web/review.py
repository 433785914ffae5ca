"""The review queue in the console (issue 16 items 5-7): the pending links by cohort and deadline,
the confirmed and rejected ones on their own tabs, one child beside each candidate with the
waterfall of match weights, and the decisions (the very records `reunify review confirm|reject`
stores, honoured by every later run). Case workers and admins only; every read and every
decision is on the audit trail (ids only); every POST carries the session's CSRF token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from pipeline.errors import ConfigError, RunFailedError, StoreError
from pipeline.ops import cases as case_work
from pipeline.ops import review as queue
from pipeline.ops.quality import estimate
from pipeline.store import Decision
from pipeline.store.access import Session
from pipeline.store.schema import QUALITY_VERDICTS
from pipeline.web import waterfall
from pipeline.web.auth import CaseworkerSession, ViewerSession, audit, check_csrf, console
from pipeline.web.notices import DECISION_NOTICE, RUN_NOTICE, VERDICT_NOTICE, notice
from pipeline.web.pages import error_page, render

router = APIRouter()
PAGE_SIZE = 50
TABS = queue.REVIEW_STATES


def _queue(request: Request, state: str, offset: int, limit: int) -> tuple[Any, int, list[queue.ReviewItem]]:
    """The published run, how many children the tab holds, and one page of them."""
    c = console(request)
    run = c.store.latest_succeeded_run()
    if run is None:
        raise RunFailedError("no successful run yet: run `reunify run` first")
    order = case_work.cohort_order(c.settings, run.as_of)
    total, page = queue.review_queue_page(c.store, run.id, state, order, offset, limit)
    return run, total, page


def _page(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


@router.get("/review", include_in_schema=False)
def review_page(
    request: Request, session: CaseworkerSession, tab: str = "pending", page: str = "1"
) -> Response:
    """The queue: one tab per state (pending by default), by cohort and the cohort's deadline."""
    if tab not in TABS:
        tab = "pending"
    number = _page(page)
    run, total, shown = _queue(request, tab, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    audit(
        request,
        session.user,
        "review_queue",
        [i.child_key for i in shown],
        f"tab {tab}: {len(shown)} children",
    )
    c = console(request)
    return render(
        request,
        "review.html",
        run=run,
        tab=tab,
        tabs=TABS,
        items=shown,
        total=total,
        page=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        days=case_work.deadlines_by_cohort(c.settings, run.as_of),
        notice=notice(request, RUN_NOTICE),
    )


@router.get("/review/check", include_in_schema=False)
def check_page(request: Request, session: CaseworkerSession) -> Response:
    """The quality sample of the published run: confident links drawn at random, each with the
    latest verdict (correct or wrong) and a form for one."""
    c = console(request)
    run = c.store.latest_succeeded_run()
    if run is None:
        raise RunFailedError("no successful run yet: run `reunify run` first")
    sample = c.store.quality_sample(run.id)
    results = {s.child_key: c.store.find_result(s.child_key, run.id) for s in sample}
    audit(request, session.user, "quality_sample", [s.child_key for s in sample], f"{len(sample)} links")
    return render(
        request,
        "review_check.html",
        run=run,
        tab="check",
        tabs=TABS,
        sample=sample,
        results=results,
        verdicts=QUALITY_VERDICTS,
        quality=estimate(c.store),
        share=c.settings.quality_sample_share,
        notice=notice(request, VERDICT_NOTICE),
    )


@router.post("/review/check/{child_key}", include_in_schema=False)
async def check_verdict(request: Request, session: CaseworkerSession, child_key: str) -> Response:
    """A reviewer's verdict on one sampled link of the published run."""
    await check_csrf(request, session)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    c = console(request)
    run = c.store.latest_succeeded_run()
    if run is None:
        raise RunFailedError("no successful run yet")
    try:
        v = c.store.add_quality_verdict(
            run.id, child_key, form.get("verdict", ""), session.user.name, form.get("note", "").strip()[:500]
        )
    except StoreError as exc:
        return error_page(request, 400, str(exc))
    audit(request, session.user, "quality_verdict", [child_key], f"{v.verdict} {v.adult_key}")
    return RedirectResponse(f"/review/check?notice={v.verdict}", status_code=303)


@router.get("/api/quality")
def api_quality(request: Request, _s: ViewerSession) -> dict[str, Any]:
    """The precision estimate (aggregates only: any role)."""
    q = estimate(console(request).store)
    return {
        "correct": q.correct,
        "verdicts": q.verdicts,
        "precision": q.precision,
        "wilson_95": [q.low, q.high],
        "verdicts_for_2_percent": q.needed,
    }


@router.get("/review/{child_record_id}", include_in_schema=False)
def review_case_page(request: Request, session: CaseworkerSession, child_record_id: str) -> Response:
    """One child beside each candidate (linked adult and runner-ups), each with its waterfall."""
    c = console(request)
    case = queue.review_case(c.store, child_record_id)
    r = case.result
    audit(
        request, session.user, "review_case", list(r["child_record_ids"]), f"child {r['child_record_ids'][0]}"
    )
    charts = [
        waterfall.render(
            cand.parent.get("evidence") or [], float(cand.parent.get("match_score") or 0.0), f"waterfall-{i}"
        )
        for i, cand in enumerate(case.candidates)
    ]
    return render(
        request,
        "review_case.html",
        case=case,
        r=r,
        kind=queue.FIND_PARENT if queue.dna_excluded(r) else queue.CHECK_LINK,
        charts=charts,
        notice=notice(request, DECISION_NOTICE),
    )


async def _decide(request: Request, session: Session, child_record_id: str, body: dict[str, str]) -> Decision:
    c = console(request)
    decision = queue.decide(
        c.store,
        child_record_id,
        body.get("adult", ""),
        body.get("decision", ""),
        session.user.name,
        body.get("why", ""),
    )
    result = c.store.find_result(child_record_id)
    ids = list(result["child_record_ids"]) if result else [decision.child_key]
    audit(request, session.user, "review_decision", ids, f"{decision.decision} {decision.adult_key}"[:500])
    return decision


@router.post("/review/{child_record_id}/decide", include_in_schema=False)
async def decide_form(request: Request, session: CaseworkerSession, child_record_id: str) -> Response:
    """Confirm or reject one candidate with a reason, as the session's user."""
    await check_csrf(request, session)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        d = await _decide(request, session, child_record_id, form)
    except ConfigError as exc:
        return error_page(request, 400, str(exc))
    words = "confirmed" if d.decision == "confirm" else "rejected"
    return RedirectResponse(f"/review/{child_record_id}?notice={words}", status_code=303)


# -- JSON ------------------------------------------------------------------------------------


def decision_json(d: Decision) -> dict[str, Any]:
    """A decision as the API shows it."""
    return {
        "child_key": d.child_key,
        "adult": d.adult_key,
        "decision": d.decision,
        "who": d.who,
        "when": d.decided_at.isoformat(),
        "why": d.why,
    }


@router.get("/api/review")
def api_review(
    request: Request,
    session: CaseworkerSession,
    state: str = Query("pending"),
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """A page of the queue in one state (pending, confirmed, rejected)."""
    if state not in TABS:
        raise ConfigError(f"state is one of {', '.join(TABS)}")
    run, total, shown = _queue(request, state, offset, limit)
    audit(request, session.user, "review_queue", [i.child_key for i in shown], f"state {state}")
    return {
        "run_id": run.id,
        "state": state,
        "total": total,
        "offset": offset,
        "items": [
            {
                "child_key": i.child_key,
                "kind": i.kind,
                "why": i.why,
                "state": i.state,
                "status": i.result["status"],
                "cohort": i.result["cohort"],
                "parent": i.result.get("parent"),
                "decisions": [decision_json(d) for d in i.decisions],
            }
            for i in shown
        ],
    }


@router.post("/api/review/{child_record_id}/decisions")
async def api_decide(request: Request, session: CaseworkerSession, child_record_id: str) -> Response:
    """Record a decision: JSON ``{"adult", "decision": "confirm"|"reject", "why"}`` with the session's
    CSRF token in the X-CSRF-Token header."""
    await check_csrf(request, session)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _json_error(400, 'send JSON: {"adult": ..., "decision": "confirm" or "reject", "why": ...}')
    try:
        d = await _decide(request, session, child_record_id, {k: str(v) for k, v in body.items()})
    except ConfigError as exc:
        return _json_error(400, str(exc))
    return JSONResponse(decision_json(d), status_code=201)


def _json_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)
