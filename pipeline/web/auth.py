"""Who is asking: the request's session, its role, its CSRF token, and the audit of what it read.

Routes declare the role they need with ``Depends(need("caseworker"))``; an anonymous API call
gets 401 and an anonymous page a redirect to the login page; a role too low gets 403, on the API
and the pages alike (not only in the menus).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from pipeline.run.distributed import SendFn
from pipeline.settings import Settings
from pipeline.store import Store
from pipeline.store.access import AccessStore, Session, User
from pipeline.web.roles import allows
from pipeline.web.sessions import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, Sessions, same


class NeedLogin(Exception):
    """No live session: 401 on the API, the login page otherwise."""


class Forbidden(Exception):
    """A live session whose role does not allow this (403)."""

    def __init__(self, needed: str) -> None:
        super().__init__(needed)
        self.needed = needed


class BadCsrf(Exception):
    """A state-changing request without the session's CSRF token (403)."""


@dataclass(frozen=True, slots=True)
class Console:
    """What every request handler needs, made once by the app."""

    settings: Settings
    store: Store
    access: AccessStore
    sessions: Sessions
    #: how the run buttons reach the workers when a broker is configured (None: they cannot)
    send: SendFn | None = None


def console(request: Request) -> Console:
    """The app's shared parts."""
    found: Console = request.app.state.console
    return found


def current_session(request: Request) -> Session | None:
    """The request's live session (read once per request), or None."""
    if "session" not in request.scope.setdefault("reunify", {}):
        found = console(request).sessions.read(request.cookies.get(SESSION_COOKIE))
        request.scope["reunify"]["session"] = found
    session: Session | None = request.scope["reunify"]["session"]
    return session


def need(role: str) -> Callable[[Request], Session]:
    """A dependency that yields the session when its user has at least ``role``."""

    def dependency(request: Request) -> Session:
        session = current_session(request)
        if session is None:
            raise NeedLogin()
        if not allows(session.user.role, role):
            raise Forbidden(role)
        return session

    return dependency


async def check_csrf(request: Request, session: Session) -> None:
    """Refuse a state-changing request whose form field or header lacks the session's token."""
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not same(token, session.csrf_token):
        raise BadCsrf()


def audit(request: Request, user: User, action: str, child_ids: Sequence[str], detail: str = "") -> None:
    """Record that ``user`` was shown these children's personal data on this route."""
    console(request).access.audit(user, action, request.url.path, child_ids, detail)


# The sessions a route may be called with, by the least role it needs (FastAPI's Annotated form).
ViewerSession = Annotated[Session, Depends(need("viewer"))]
CaseworkerSession = Annotated[Session, Depends(need("caseworker"))]
AdminSession = Annotated[Session, Depends(need("admin"))]
