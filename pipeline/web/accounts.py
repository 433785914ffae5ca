"""Console accounts: Argon2 password hashes, logins with a lockout, and the user changes
``reunify users`` makes. Messages never hold a password, and a failed login does not say whether
the name exists."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.errors import AccessError
from pipeline.settings import Settings
from pipeline.store.access import AccessStore, User

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checked against when the name is unknown, so that a wrong name costs as long as a wrong
    password; hashed on the first login, not at import (every `reunify` command imports this)."""
    return _hasher.hash("reunify: no such user")


def hash_password(password: str) -> str:
    """The Argon2id hash of a password that is long enough; AccessError otherwise."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccessError(f"a console password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(access: AccessStore, settings: Settings, name: str, password: str) -> User:
    """The user when the name and password are right and the account is usable; AccessError
    ("wrong name or password", or the lockout) otherwise. Wrong passwords count towards the lockout."""
    user = access.get_user(name)
    stored = access.password_hash(name) if user is not None else None
    good = _matches(stored or _dummy_hash(), password) and stored is not None
    if user is None:
        raise AccessError("wrong name or password")
    now = access.store.now()
    if user.locked_until is not None and user.locked_until > now:
        raise AccessError(
            "too many wrong passwords: the account is locked for a while; an admin can reset it"
        )
    if not good:
        access.record_login_failure(
            name, settings.web_max_failed_logins, timedelta(minutes=settings.web_lockout_minutes)
        )
        raise AccessError("wrong name or password")
    if user.disabled:
        raise AccessError("this account is disabled: ask an admin")
    if stored is not None and _hasher.check_needs_rehash(stored):
        access.update_user(name, password_hash=_hasher.hash(password))
    access.record_login_success(name)
    return user


def add_user(access: AccessStore, name: str, role: str, password: str) -> User:
    """Create a console user with a hashed password."""
    if not name or len(name) > 64 or not name.isprintable() or name.strip() != name:
        raise AccessError("a user name is 1 to 64 printable characters without surrounding spaces")
    return access.add_user(name, role, hash_password(password))


def reset_password(access: AccessStore, name: str, password: str) -> User:
    """Give a user a new password (ends their sessions and clears a lockout)."""
    return access.update_user(name, password_hash=hash_password(password))


def _active_admins(access: AccessStore) -> list[User]:
    return [u for u in access.list_users() if u.role == "admin" and not u.disabled]


def change_user(
    access: AccessStore, name: str, *, role: str | None = None, disabled: bool | None = None
) -> User:
    """Change a user's role or disabled flag (their sessions end). Refuses, with AccessError, to
    demote or disable the last active admin: nobody could then manage the console's users."""
    user = access.get_user(name)
    if user is not None and user.role == "admin" and not user.disabled:
        losing = (role is not None and role != "admin") or disabled is True
        if losing and [u.name for u in _active_admins(access)] == [name]:
            raise AccessError(
                f"{name} is the last active admin: make another user admin first "
                "(`reunify users set-role NAME admin`)"
            )
    return access.update_user(name, role=role, disabled=disabled)
