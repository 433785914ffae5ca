"""The console's ASGI app: security headers on every response, the login wall, the pages and the
JSON API over one store.

``create_app(settings)`` refuses to build without ``REUNIFY_WEB_SECRET`` (the key that signs the
session cookies), as Flower refuses to start without its password.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from pipeline.errors import ConfigError, NotFoundError, ReunifyError, RunFailedError
from pipeline.ops.escape import term_text
from pipeline.run.distributed import SendFn
from pipeline.settings import Settings
from pipeline.store import Store
from pipeline.store.access import AccessStore
from pipeline.web import api, cases, pages, review, run_actions, users
from pipeline.web.auth import BadCsrf, Console, Forbidden, NeedLogin
from pipeline.web.sessions import Sessions

HERE = Path(__file__).resolve().parent
MIN_SECRET_LENGTH = 16

# No inline script anywhere (the one script is /static/console.js), nothing from another origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def templates() -> Jinja2Templates:
    """The page templates (autoescaped: every value is HTML-escaped unless marked safe)."""
    t = Jinja2Templates(directory=str(HERE / "templates"))
    t.env.autoescape = True
    t.env.filters["shown"] = lambda v: "" if v is None else term_text(v)
    return t


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(settings: Settings, store: Store | None = None, send: SendFn | None = None) -> FastAPI:
    """The console over ``store`` (default: the store the settings name); ``send`` hands the run
    buttons' runs to the workers when a broker is configured (``reunify web`` gives it)."""
    if not settings.web_secret or len(settings.web_secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"the console needs REUNIFY_WEB_SECRET (at least {MIN_SECRET_LENGTH} random characters, "
            "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`): "
            "it signs the session cookies"
        )
    store = store or Store(settings.database_url)
    access = AccessStore(store)
    app = FastAPI(
        title="Reunify console",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.console = Console(
        settings=settings,
        store=store,
        access=access,
        sessions=Sessions(access, settings.web_secret, timedelta(minutes=settings.web_idle_minutes)),
        send=send,
    )
    app.state.templates = templates()

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            # pages and API answers hold personal data: never kept by a browser or a proxy
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, _exc: NeedLogin) -> Response:
        if _is_api(request):
            return JSONResponse({"error": "log in first: POST /login"}, status_code=401)
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        message = f"this needs the {exc.needed} role"
        if _is_api(request):
            return JSONResponse({"error": message}, status_code=403)
        return pages.error_page(request, 403, message)

    @app.exception_handler(BadCsrf)
    async def bad_csrf(request: Request, _exc: BadCsrf) -> Response:
        message = "the form's security token is missing or stale: reload the page and try again"
        if _is_api(request):
            return JSONResponse({"error": message}, status_code=403)
        return pages.error_page(request, 403, message)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=404)
        return pages.error_page(request, 404, str(exc))

    @app.exception_handler(RunFailedError)
    async def no_results(request: Request, exc: RunFailedError) -> Response:
        # "no successful run yet": nothing to show, which is not the console's fault
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=409)
        return pages.error_page(request, 409, str(exc))

    @app.exception_handler(ReunifyError)
    async def reunify_error(request: Request, exc: ReunifyError) -> Response:
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=500)
        return pages.error_page(request, 500, str(exc))

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(cases.router)  # case work (issue 16): pipeline/web/cases.py
    app.include_router(review.router)  # the review queue (issue 16): pipeline/web/review.py
    app.include_router(run_actions.router)  # starting and stopping runs: pipeline/web/run_actions.py
    app.include_router(pages.router)
    app.include_router(users.router)
    return app
