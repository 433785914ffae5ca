"""The console's JSON API. The routes CONTRACT section 6 fixes, and the ones the pages' script
reads (the run in progress). Each route names the role it needs; every answer that shows
personal data is recorded in the audit trail (ids only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from pipeline.errors import NotFoundError
from pipeline.metrics import render_metrics, stage_durations, token_matches
from pipeline.ops.check import run_dict
from pipeline.ops.story import child_story
from pipeline.ops.summary import build_summary, summary_json
from pipeline.store.browse import ChildFilter, browse_children, count_children
from pipeline.store.history import child_key
from pipeline.web.auth import AdminSession, CaseworkerSession, ViewerSession, audit, console

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    """200 when the store answers (no login, no data)."""
    try:
        console(request).store.ping()
    except Exception:
        return JSONResponse({"status": "store unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The Prometheus metrics of ``reunify metrics serve``, with its bearer token when one is set."""
    c = console(request)
    token = c.settings.metrics_token
    if token and not token_matches(request.headers.get("authorization", ""), token):
        return JSONResponse(
            {"error": "metrics need Authorization: Bearer <REUNIFY_METRICS_TOKEN>"}, status_code=401
        )
    body, content_type = render_metrics(c.store, c.settings)
    return Response(body, media_type=content_type)


@router.get("/api/summary")
def summary(request: Request, _s: ViewerSession, run: str | None = None) -> dict[str, Any]:
    """The court's figures of the latest published run (or ``run``): aggregates only."""
    c = console(request)
    return summary_json(build_summary(c.store, c.settings, run))


def progress_json(request: Request) -> dict[str, Any]:
    """The run in progress (stage, records per feed, partitions done) and the last run that ended."""
    store = console(request).store
    running = store.running_runs()
    out: dict[str, Any] = {"running": None, "last": None}
    if running:
        run = running[0]
        steps = store.list_steps(run.id)
        match = [s for s in steps if s.step.startswith("match:")]
        out["running"] = run_dict(run) | {
            "partitions": run.partitions,
            "partitions_done": sum(1 for s in match if s.done_at is not None),
            "age_seconds": round((store.now() - run.started_at).total_seconds(), 1),
        }
    ended = [r for r in store.list_runs(limit=5) if r.status != "running"]
    if ended:
        last = ended[0]
        out["last"] = run_dict(last) | {"stage_seconds": stage_durations(last, store.list_steps(last.id))}
    return out


@router.get("/api/progress")
def progress(request: Request, _s: ViewerSession) -> dict[str, Any]:
    """What the dashboard's live panel shows (no personal data)."""
    return progress_json(request)


@router.get("/api/runs")
def runs(request: Request, _s: ViewerSession, limit: int = Query(20, ge=1, le=500)) -> list[dict[str, Any]]:
    """The run history, newest first."""
    return [run_dict(r) for r in console(request).store.list_runs(limit=limit)]


@router.get("/api/children")
def children(
    request: Request,
    session: CaseworkerSession,
    status: str | None = None,
    cohort: str | None = None,
    facility: str | None = None,
    country: str | None = None,
    needs_review: bool | None = None,
    unresolved: bool | None = None,
    sort: str = "child",
    desc: bool = False,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """A page of the latest run's children (export objects); search by name is a page's POST, so
    that no name travels in a URL."""
    c = console(request)
    summary_run = c.store.latest_succeeded_run()
    if summary_run is None:
        raise NotFoundError("no successful run yet")
    f = ChildFilter(status, cohort, facility, country, needs_review, unresolved)
    rows = browse_children(c.store, summary_run.id, f, sort=sort, descending=desc, offset=offset, limit=limit)
    audit(request, session.user, "list_children", [r.child_key for r in rows])
    return {
        "run_id": summary_run.id,
        "total": count_children(c.store, summary_run.id, f),
        "offset": offset,
        "children": [r.result for r in rows],
    }


def story_json(request: Request, child_record_id: str) -> dict[str, Any]:
    """The child's export object (CONTRACT section 5) with its story beside it under ``story``."""
    story = child_story(console(request).store, child_record_id)
    case = story.case
    return dict(case.result) | {
        "story": {
            "run_id": case.run.id,
            "records": [
                {"feed": r.feed, "record_id": r.record_id, "fields": r.fields()} for r in case.child_records
            ],
            "candidates": [
                {
                    "role": cand.role,
                    "parent": cand.parent,
                    "records": [
                        {"feed": r.feed, "record_id": r.record_id, "fields": r.fields()} for r in cand.records
                    ],
                }
                for cand in case.candidates
            ],
            "dna": [{"record_id": r.record_id, "fields": r.fields()} for r in story.dna],
            "history": [
                {
                    "run_id": h.run_id,
                    "as_of": h.as_of.isoformat(),
                    "status": h.status,
                    "location_state": h.location_state,
                    "resolved": h.resolved,
                    "match_score": h.match_score,
                }
                for h in story.history
            ],
            "decisions": [
                {
                    "adult_key": d.adult_key,
                    "decision": d.decision,
                    "who": d.who,
                    "why": d.why,
                    "decided_at": d.decided_at.isoformat(),
                }
                for d in case.decisions
            ],
        }
    }


@router.get("/api/children/{child_record_id}")
def child(request: Request, session: CaseworkerSession, child_record_id: str) -> dict[str, Any]:
    """One child's export object and story; the read is on the audit trail."""
    found = story_json(request, child_record_id)
    audit(request, session.user, "view_child", list(found["child_record_ids"]), f"child {child_key(found)}")
    return found


@router.get("/api/audit")
def audit_trail(
    request: Request,
    _s: AdminSession,
    user: str | None = None,
    since: datetime | None = None,
    limit: int = Query(500, ge=1, le=10_000),
) -> list[dict[str, object]]:
    """The audit trail, newest first: who, when, which route, which children (ids)."""
    entries = console(request).access.list_audit(username=user, since=since, limit=limit)
    return [e.to_json() for e in entries]
