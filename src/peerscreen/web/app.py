"""The team web app: `create_app(database)` returns the ASGI app `peerscreen serve` runs.

Pages render server-side with Jinja2 (autoescaped: record text is untrusted input); the
screening page's small script (`static/screen.js`) talks to the JSON API under /api. Every
route but sign-in and the static files needs a signed-in user with a role in the project.
Errors become a short page (or `{"error": ...}` under /api), never a stack trace; the
traceback goes to the server's log only.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from peerscreen import __version__
from peerscreen.errors import PeerscreenError
from peerscreen.screening.database import Database
from peerscreen.web import (
    routes_auth,
    routes_progress,
    routes_projects,
    routes_records,
    routes_screen,
)
from peerscreen.web.security import COOKIE, SESSION_HOURS, SessionCodec
from peerscreen.web.state import TEMPLATES, NotSignedIn, WebError, WebState, render

log = logging.getLogger("peerscreen.web")
STATIC = Path(__file__).parent / "static"
MB = 1024 * 1024
#: Every router of the app (the security tests walk their routes).
ROUTERS = tuple(
    m.router for m in (routes_auth, routes_projects, routes_screen, routes_records, routes_progress)
)


def create_app(
    database: Database,
    *,
    behind_proxy: bool = False,
    max_upload_bytes: int = 50 * MB,
    retrain_in_process: bool = True,
) -> FastAPI:
    """The web app over `database` (see the module docstring). Retraining runs in a child
    process unless `retrain_in_process` is False (tests: in a thread of this process)."""
    app = FastAPI(
        title="peerscreen", version=__version__, docs_url=None, redoc_url=None, openapi_url=None
    )
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["version"] = __version__
    app.state.web = WebState(
        database=database,
        codec=SessionCodec(database.secret_key()),
        templates=templates,
        behind_proxy=behind_proxy,
        max_upload_bytes=max_upload_bytes,
        retrain_in_process=retrain_in_process,
    )
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _install_session_cookie(app, behind_proxy)
    _install_error_pages(app)
    return app


def _install_session_cookie(app: FastAPI, secure: bool) -> None:
    @app.middleware("http")
    async def session_cookie(request: Request, call_next):
        response = await call_next(request)
        session = getattr(request.state, "session", None)
        if session is not None and session.changed:
            response.set_cookie(
                COOKIE,
                app.state.web.codec.dumps(session),
                max_age=SESSION_HOURS * 3600,
                httponly=True,
                samesite="lax",
                secure=secure,
                path="/",
            )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'",
        )
        return response


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str):
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return render(request, "error.html", http_status=status, status_code=status, message=message)


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _exc: NotSignedIn):
        if _wants_json(request):
            return JSONResponse({"error": "sign in first"}, status_code=401)
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError):
        return _error(request, exc.status, exc.message)

    @app.exception_handler(PeerscreenError)
    async def user_error(request: Request, exc: PeerscreenError):
        return _error(request, 400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        messages = {
            404: "Page not found.",
            405: "That does not work here.",
            413: "The upload is too large.",
        }
        message = (
            exc.detail
            if isinstance(exc.detail, str) and exc.status_code not in (404, 405)
            else messages.get(exc.status_code, "The request was refused.")
        )
        return _error(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
        return _error(request, 400, "Missing or invalid: " + (", ".join(fields) or "input"))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("error serving %s %s", request.method, request.url.path)
        return _error(
            request,
            500,
            "Something went wrong on the server; it was logged. "
            "Nothing you saved before this is lost.",
        )
