"""The admin's users page: every console user with role and state; add a user, change a role,
disable or enable, set a new password. The same services as ``reunify users`` (pipeline.web.accounts);
every change is a decision on the audit trail (who changed whom, never a password)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pipeline.errors import AccessError, StoreError
from pipeline.store.access import AccessStore, User
from pipeline.store.schema import ROLES
from pipeline.web import accounts
from pipeline.web.auth import AdminSession, check_csrf, console
from pipeline.web.pages import render
from pipeline.web.roles import ROLE_GRANTS

router = APIRouter(include_in_schema=False)

#: What the page's change form may ask, and what each does.
CHANGES = ("set-role", "disable", "enable", "reset-password")


def _state(access: AccessStore, user: User) -> str:
    if user.disabled:
        return "disabled"
    if user.locked_until is not None and user.locked_until > access.store.now():
        return "locked"
    return "active"


def _page(request: Request, message: str = "", error: str = "", status: int = 200) -> Response:
    access = console(request).access
    users = [(u, _state(access, u)) for u in access.list_users()]
    return render(
        request,
        "users.html",
        status_code=status,
        users=users,
        roles=ROLES,
        grants=ROLE_GRANTS,
        message=message,
        error=error,
    )


@router.get("/users")
def users_page(request: Request, _s: AdminSession) -> Response:
    """Every console user: name, role, state (active, locked, disabled), created."""
    return _page(request)


def _field(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/users")
async def add_user(request: Request, session: AdminSession) -> Response:
    """Add a user with a role and a first password (at least 12 characters)."""
    await check_csrf(request, session)
    form = dict(await request.form())
    name, role = _field(form, "name").strip(), _field(form, "role")
    access = console(request).access
    try:
        if role not in ROLES:
            raise AccessError(f"a role is one of {', '.join(ROLES)}")
        if access.get_user(name) is not None:
            raise AccessError(f"there is already a user named {name!r}")
        user = accounts.add_user(access, name, role, _field(form, "password"))
    except AccessError as exc:
        return _page(request, error=str(exc), status=400)
    access.audit(session.user, "user_add", "/users", (), f"{user.name} as {user.role}")
    return _page(request, message=f"added {user.name} ({user.role})")


@router.post("/users/change")
async def change_user(request: Request, session: AdminSession) -> Response:
    """Change one user: a new role, disabled or enabled, or a new password. Their sessions end."""
    await check_csrf(request, session)
    form = dict(await request.form())
    name, change = _field(form, "name"), _field(form, "change")
    access = console(request).access
    try:
        if change not in CHANGES:
            raise AccessError(f"a change is one of {', '.join(CHANGES)}")
        if change == "set-role":
            role = _field(form, "role")
            if role not in ROLES:
                raise AccessError(f"a role is one of {', '.join(ROLES)}")
            user = accounts.change_user(access, name, role=role)
            done, detail = f"{user.name} is now {user.role}; their sessions are ended", f"{name} to {role}"
        elif change in ("disable", "enable"):
            user = accounts.change_user(access, name, disabled=change == "disable")
            done, detail = f"{user.name} {change}d", name
        else:
            user = accounts.reset_password(access, name, _field(form, "password"))
            done, detail = f"new password set for {user.name}; their sessions are ended", name
    except (AccessError, StoreError) as exc:
        return _page(request, error=str(exc), status=400)
    access.audit(session.user, f"user_{change.replace('-', '_')}", "/users", (), detail)
    if user.name == session.user.name and change != "enable":
        # the admin changed their own account: that session has just ended
        return render(request, "error.html", status_code=200, status=200, message=done + ": log in again")
    return _page(request, message=done)
