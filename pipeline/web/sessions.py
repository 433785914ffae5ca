"""Session cookies and CSRF tokens of the console.

A session is a random token: the browser holds it signed (``REUNIFY_WEB_SECRET``) in an HttpOnly,
SameSite=Strict cookie; the store holds its SHA-256 with the user, a CSRF token and the idle
clock. Before login, the login form's CSRF token is bound to a short-lived signed cookie of its
own (the double-submit pattern), so a login cannot be forged from another site either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeSerializer

from pipeline.store.access import AccessStore, Session, User

SESSION_COOKIE = "reunify_session"
LOGIN_COOKIE = "reunify_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_FORM_SECONDS = 3600


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (False when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class Sessions:
    """Opens, reads and ends console sessions."""

    def __init__(self, access: AccessStore, secret: str, idle: timedelta) -> None:
        self._access = access
        self._cookie = URLSafeSerializer(secret, salt="reunify-session")
        self._login = TimestampSigner(secret, salt="reunify-login")
        self._idle = idle

    def open(self, user: User) -> str:
        """A new session of ``user``: the cookie value to set."""
        token = secrets.token_urlsafe(32)
        self._access.create_session(user, _digest(token), secrets.token_urlsafe(32))
        return self._cookie.dumps(token)

    def _token(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            token = self._cookie.loads(cookie)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def read(self, cookie: str | None) -> Session | None:
        """The live session the cookie names, or None (unsigned, unknown, idle, or user disabled)."""
        token = self._token(cookie)
        return None if token is None else self._access.touch_session(_digest(token), self._idle)

    def end(self, cookie: str | None) -> None:
        """End the session the cookie names, if any."""
        token = self._token(cookie)
        if token is not None:
            self._access.end_session(_digest(token))

    def login_token(self) -> tuple[str, str]:
        """(form token, cookie value) for a login form."""
        token = secrets.token_urlsafe(24)
        return token, self._login.sign(token).decode()

    def login_token_ok(self, cookie: str | None, form_token: str | None) -> bool:
        """True when the login form's token is the one its cookie was signed for, and recent."""
        if not cookie:
            return False
        try:
            token = self._login.unsign(cookie, max_age=LOGIN_FORM_SECONDS).decode()
        except (BadSignature, SignatureExpired):
            return False
        return same(token, form_token)
