"""``create_app``: the web application, its middleware, static files and every feature's routes."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from streams.serve.accounts.service import NotSignedIn, current_user
from streams.serve.security import BodyLimit, SecurityHeaders, verify_csrf
from streams.serve.settings import ServeSettings

log = logging.getLogger(__name__)

#: The feature packages (``streams/serve/<name>/views.py``, each with ``router``, and ``public_router``
#: for the few pages open without signing in). Every route of ``router`` requires a session and, for
#: writes, the CSRF token: a feature cannot forget either.
FEATURES = ("accounts", "bulletins", "desk", "board", "projects")
#: Open without a session: the sign-in form, the static files, the health check.
PUBLIC_PATHS = ("/login", "/healthz")
SESSION_COOKIE = "funnel_session"

TITLES = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "页面不存在", 405: "不支持的操作",
          413: "上传文件过大", 422: "填写的内容有误", 429: "操作过于频繁", 500: "服务器出错", 503: "暂时不可用"}


def create_app(settings: ServeSettings) -> FastAPI:
    """The application for ``settings``: sessions, security headers, body limit, /static and the features."""
    app = FastAPI(title="funnel serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.add_middleware(SessionMiddleware, secret_key=settings.secret, session_cookie=SESSION_COOKIE,
                       max_age=settings.session_idle_seconds, same_site="lax", https_only=settings.secure_cookies)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static")
    _handlers(app)
    guarded = [Depends(current_user), Depends(verify_csrf)]
    loaded = []
    for name in FEATURES:
        views = importlib.import_module(f"streams.serve.{name}.views")
        if hasattr(views, "public_router"):
            app.include_router(views.public_router)
        app.include_router(views.router, dependencies=guarded)
        loaded.append(name)
    app.state.features = tuple(loaded)
    home = "/board" if "board" in loaded else "/bulletins" if "bulletins" in loaded else "/login"

    @app.get("/", dependencies=guarded)
    def index() -> RedirectResponse:
        """The front page: the board (or the bulletins, before the board exists)."""
        return RedirectResponse(home, status_code=303)

    @app.get("/healthz")
    def healthz() -> dict:
        """For load balancers and compose: the process answers (no figures, no session needed)."""
        return {"ok": True}

    return app


def wants_json(request: Request) -> bool:
    """An API call (or a script asking for JSON) gets JSON errors; a page gets a page."""
    return request.url.path.startswith("/api") or "application/json" in request.headers.get("accept", "")


def error_response(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    """The error as JSON for an API, else as a page."""
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    from streams.serve.templating import render

    return render(request, "error.html", status_code=status, headers=headers, status=status,
                  title=TITLES.get(status, "出错了"), message=message)


def _handlers(app: FastAPI) -> None:
    """Errors as pages or JSON; no session: /login for a page, 401 for an API."""

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: NotSignedIn) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": "not signed in"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = error.detail if isinstance(error.detail, str) else TITLES.get(error.status_code, "出错了")
        if error.status_code == 404 and message == "Not Found":
            message = "没有这个页面"
        return error_response(request, error.status_code, message, getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:]) for e in error.errors())
        return error_response(request, 422, f"填写的内容有误：{fields}")


def route_table(app: FastAPI) -> list[tuple[str, frozenset[str]]]:
    """Every (path, methods) the application answers, included routers walked (mounts such as /static left out)."""
    table: list[tuple[str, frozenset[str]]] = []

    def walk(routes) -> None:
        for route in routes:
            if hasattr(route, "effective_candidates"):  # an included router (FastAPI keeps it whole)
                walk(route.effective_candidates())
                continue
            methods = getattr(getattr(route, "original_route", route), "methods", None)
            if methods:
                table.append((route.path, frozenset(methods)))

    walk(app.routes)
    return table
