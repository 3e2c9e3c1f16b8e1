"""What the web app shares between requests, and the dependencies routes use to reach it:
the signed-in user, the CSRF check, and a project the user has a role in.

Pages and the JSON API share the rules: no session means a redirect to the sign-in page
(a 401 JSON error under /api); a project the user has no role in is a 404, the same as a
project that does not exist, so its existence leaks nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from peerscreen.screening import accounts
from peerscreen.screening.accounts import User
from peerscreen.screening.database import Database
from peerscreen.screening.project import ScreeningProject
from peerscreen.screening.service import ScreeningService
from peerscreen.web.security import CSRF_FIELD, CSRF_HEADER, Session, SessionCodec, SignInLimiter

TEMPLATES = Path(__file__).parent / "templates"


class WebError(Exception):
    """An error shown to the user as a page (or JSON under /api) with this status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class NotSignedIn(Exception):
    """No valid session: pages redirect to the sign-in page, the API answers 401."""


@dataclass
class WebState:
    database: Database
    codec: SessionCodec
    templates: Jinja2Templates
    behind_proxy: bool = False
    max_upload_bytes: int = 50 * 1024 * 1024
    retrain_in_process: bool = True
    limiter: SignInLimiter = field(default_factory=SignInLimiter)
    _services: dict[int, ScreeningService] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def service(self, project_id: int) -> ScreeningService:
        """The one service (and retrain worker) of a project in this process."""
        with self._lock:
            if project_id not in self._services:
                project = ScreeningProject(self.database, project_id)
                self._services[project_id] = ScreeningService(
                    project, retrain_in_process=self.retrain_in_process
                )
            return self._services[project_id]


@dataclass(frozen=True)
class Access:
    """A project as the signed-in user may use it."""

    user: User
    role: str
    service: ScreeningService

    @property
    def project(self) -> ScreeningProject:
        return self.service.project

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


def web_state(request: Request) -> WebState:
    return request.app.state.web


def session_of(request: Request) -> Session:
    """The request's session (a new, anonymous one if the cookie is missing or forged)."""
    session = getattr(request.state, "session", None)
    if session is None:
        state = web_state(request)
        session = state.codec.loads(request.cookies.get("peerscreen_session"))
        if session is None:
            session = Session(changed=True)
        request.state.session = session
    return session


def _session_user(request: Request) -> User | None:
    """The session's user, read once per request (pages ask for it twice: the route's
    access check and the page header)."""
    if not hasattr(request.state, "user"):
        session = session_of(request)
        user = None
        if session.user_id is not None:
            user = accounts.get_user(web_state(request).database, session.user_id)
        request.state.user = user
    return request.state.user


def current_user(request: Request) -> User:
    user = _session_user(request)
    if user is None:
        raise NotSignedIn()
    return user


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request without the session's CSRF token (form field or
    header)."""
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        content_type = request.headers.get("content-type", "")
        if "form" in content_type:
            token = (await request.form()).get(CSRF_FIELD)
    if not web_state(request).codec.csrf_ok(session_of(request), token):
        raise WebError(
            403,
            "This form has expired or did not come from this site (CSRF "
            "check failed). Reload the page and try again.",
        )


def project_access(request: Request, project_id: int) -> Access:
    """The project `project_id` if the signed-in user has a role in it, else a 404."""
    user = current_user(request)
    state = web_state(request)
    role = accounts.role_in(state.database, user.id, project_id)
    if role is None:
        raise WebError(404, "No such project.")
    return Access(user, role, state.service(project_id))


def owner_access(request: Request, project_id: int) -> Access:
    access = project_access(request, project_id)
    if not access.is_owner:
        raise WebError(403, "Only an owner of this project can do that.")
    return access


def render(request: Request, template: str, *, http_status: int = 200, **context):
    """A page, with what every template needs (user, CSRF token)."""
    state = web_state(request)
    session = session_of(request)
    user = _session_user(request) if session.user_id is not None else None
    context.update(request=request, user=user, csrf_token=state.codec.csrf_token(session))
    return state.templates.TemplateResponse(request, template, context, status_code=http_status)
