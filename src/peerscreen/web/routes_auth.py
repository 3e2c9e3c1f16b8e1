"""Sign-in and sign-out. With no account yet the page says how to make the first owner."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from peerscreen.screening import accounts
from peerscreen.web.security import Session
from peerscreen.web.state import WebError, check_csrf, render, session_of, web_state

router = APIRouter()

FIRST_OWNER_HINT = "peerscreen users add NAME --role owner"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/signin")
def signin_page(request: Request):
    session_of(request)  # a session id for the form's CSRF token
    no_users = accounts.count_users(web_state(request).database) == 0
    return render(request, "signin.html", no_users=no_users, hint=FIRST_OWNER_HINT)


@router.post("/signin", dependencies=[Depends(check_csrf)])
def signin(request: Request, name: str = Form(""), password: str = Form("")):
    state = web_state(request)
    address = _address(request)
    if state.limiter.blocked(name, address):
        raise WebError(429, "Too many failed sign-ins. Wait five minutes and try again.")
    user = accounts.authenticate(state.database, name, password)
    if user is None:
        state.limiter.failed(name, address)
        no_users = accounts.count_users(state.database) == 0
        return render(
            request,
            "signin.html",
            http_status=401,
            error="Wrong name or password.",
            name=name,
            no_users=no_users,
            hint=FIRST_OWNER_HINT,
        )
    state.limiter.succeeded(name, address)
    request.state.session = Session(user_id=user.id, changed=True)  # a new session id
    return RedirectResponse("/", status_code=303)


@router.post("/signout", dependencies=[Depends(check_csrf)])
def signout(request: Request):
    request.state.session = Session(changed=True)
    return RedirectResponse("/signin", status_code=303)
