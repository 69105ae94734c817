"""Sign-in and sign-out pages: /login (public) and /logout (a POST with the CSRF token)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from streams.serve import audit
from streams.serve.accounts import service
from streams.serve.security import new_csrf_token, verify_csrf
from streams.serve.templating import render

log = logging.getLogger(__name__)

#: Pages anyone may open: the sign-in form.
public_router = APIRouter()
#: Pages for the signed-in (the application adds the session check to every route here).
router = APIRouter()


def address(request: Request) -> str | None:
    """The client's address as the server sees it (no forwarded header is trusted unless configured)."""
    return request.client.host if request.client else None


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another origin."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@public_router.get("/login")
def login_form(request: Request, next: str = "/"):
    """The sign-in form (already signed in: straight on)."""
    if service.session_user(service.settings_of(request), request.session.get("sid")):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next))


@public_router.post("/login", dependencies=[Depends(verify_csrf)])
def login(request: Request, username: str = Form(..., max_length=64), password: str = Form(..., max_length=1024),
          next: str = Form("/")):
    """Check the name and password within the limits; on success a new session (id and CSRF token)."""
    settings = service.settings_of(request)
    where = address(request)
    outcome = service.sign_in(settings, username, password, where)
    if outcome.reason == "limited":
        audit.record(settings, username, "signin_limited", {"retry_after": outcome.retry_after}, where)
        minutes = max(1, round(outcome.retry_after / 60))
        return render(request, "login.html", status_code=429, headers={"Retry-After": str(outcome.retry_after)},
                      next=safe_next(next), username=username,
                      error=f"登录失败次数过多，请 {minutes} 分钟后再试")
    if outcome.user is None:
        audit.record(settings, username, "signin_failed", {"reason": outcome.reason}, where)
        return render(request, "login.html", status_code=401, next=safe_next(next), username=username,
                      error="用户名或密码错误" if outcome.reason == "wrong" else "该账号已停用")
    service.close_session(settings, request.session.get("sid"))
    request.session.clear()
    request.session["sid"] = service.open_session(settings, outcome.user)
    new_csrf_token(request)
    audit.record(settings, outcome.user, "signin", {}, where)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request):
    """End the session here and on the server."""
    settings = service.settings_of(request)
    user = service.current_user(request)
    service.close_session(settings, request.session.get("sid"))
    request.session.clear()
    audit.record(settings, user, "signout", {}, address(request))
    return RedirectResponse("/login", status_code=303)
