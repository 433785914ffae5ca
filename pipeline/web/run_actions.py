"""The runs an operator starts or stops from the console (issue 15; issue 16 item 8): an admin
triggers a run, cancels the run in progress (as `reunify cancel`), or accepts a gated drop and
runs again (as `reunify run --accept-drop FEED --reason TEXT`); a case worker or an admin
re-reconciles the stored feed state after review decisions (as `reunify run --no-fetch`). Each
goes through the same services as the CLI (``pipeline.run.launch``, ``pipeline.cancel``), carries
the session's CSRF token and is on the audit trail.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from pipeline.cancel import request_cancel
from pipeline.errors import ConfigError, NotFoundError, NothingToCancel, RunFailedError, RunInProgressError
from pipeline.gates import AcceptDrop, refused_feeds
from pipeline.run import launch
from pipeline.store.access import Session
from pipeline.web.auth import AdminSession, CaseworkerSession, audit, check_csrf, console
from pipeline.web.pages import error_page

router = APIRouter(include_in_schema=False)
MODES = launch.MODES


async def _form(request: Request, session: Session) -> dict[str, Any]:
    await check_csrf(request, session)
    form = await request.form()
    return {k: form.getlist(k) if k == "feed" else form.get(k) for k in form}


def _back(target: str, notice: str) -> Response:
    return RedirectResponse(f"{target}?notice={quote(notice)}", status_code=303)


def _start(request: Request, session: Session, req: launch.RunRequest, action: str, back: str) -> Response:
    c = console(request)
    try:
        run_id = launch.start_in_background(c.settings, c.store, req, c.send)
    except RunInProgressError as exc:
        return error_page(request, 409, str(exc))
    except (ConfigError, RunFailedError) as exc:
        return error_page(request, 400 if isinstance(exc, ConfigError) else 409, str(exc))
    accepted = ",".join(a.feed for a in req.accept)
    audit(
        request,
        session.user,
        action,
        [],
        f"run {run_id}: mode {req.mode}{'; accepted ' + accepted if accepted else ''}",
    )
    return _back(back, f"run {run_id[:12]} started ({req.trigger})")


@router.post("/review/rerun")
async def rerun(request: Request, session: CaseworkerSession) -> Response:
    """Re-reconcile the last good run's feed state now, so that the decisions take effect."""
    await _form(request, session)
    return _start(request, session, launch.RunRequest.review(), "run_rerun", "/review")


@router.post("/runs/start")
async def start(request: Request, session: AdminSession) -> Response:
    """Start a run (full or incremental), as `reunify run` would."""
    form = await _form(request, session)
    mode = str(form.get("mode") or "full")
    if mode not in MODES:
        return error_page(request, 400, f"mode is one of {', '.join(MODES)}")
    return _start(request, session, launch.RunRequest(launch.CONSOLE_TRIGGER, mode), "run_trigger", "/runs")


@router.post("/runs/{run_id}/cancel")
async def cancel(request: Request, session: AdminSession, run_id: str) -> Response:
    """Cancel a run in progress, as `reunify cancel RUN --reason TEXT`: nothing of it is published."""
    form = await _form(request, session)
    why = str(form.get("reason") or "").strip() or None
    try:
        run = request_cancel(console(request).store, run_id, session.user.name, why)
    except NothingToCancel as exc:
        return error_page(request, 409, str(exc))
    except NotFoundError as exc:
        return error_page(request, 404, str(exc))
    audit(request, session.user, "run_cancel", [], f"run {run.id}: {why or ''}"[:500])
    return _back("/runs", f"run {run.id[:12]} cancelled")


@router.post("/runs/{run_id}/accept")
async def accept(request: Request, session: AdminSession, run_id: str) -> Response:
    """Accept the drop of the feeds the publish gates refused ``run_id`` for, and run again with
    the acceptances stored on the new run, as `reunify run --accept-drop FEED --reason TEXT`."""
    form = await _form(request, session)
    store = console(request).store
    run = store.get_run(run_id)
    if run is None:
        return error_page(request, 404, f"no run {run_id!r}")
    refused = refused_feeds(store.list_gate_checks(run_id))
    feeds = [f for f in form.get("feed") or [] if isinstance(f, str)]
    if run.outcome != "refused" or not feeds or not set(feeds) <= set(refused):
        return error_page(
            request,
            400,
            f"choose among the feeds the publish gates refused run {run_id[:12]} for: "
            f"{', '.join(refused) or 'none'}",
        )
    why = str(form.get("reason") or "").strip()
    req = launch.RunRequest(
        launch.CONSOLE_TRIGGER, run.mode, False, tuple(AcceptDrop(f, session.user.name, why) for f in feeds)
    )
    return _start(request, session, req, "run_accept_drop", "/runs")
