"""CSRF tokens, the upload size limit (enforced while the body streams in) and the security headers."""

from __future__ import annotations

import hmac
import logging
import secrets

from fastapi import HTTPException, Request, UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streams.serve.settings import ServeSettings

log = logging.getLogger(__name__)

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CHUNK = 64 * 1024

#: No origin but this one: scripts, styles, fonts and pictures are served from /static (vendored).
#: Styles allow inline attributes because ECharts styles its tooltips with them; scripts never run inline.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class UploadTooLarge(HTTPException):
    """A request body or an uploaded file over the limit: 413."""

    def __init__(self, limit: int):
        super().__init__(413, f"上传文件过大：不能超过 {limit / 1024 / 1024:.0f} MB")
        self.limit = limit


class CsrfRefused(HTTPException):
    """A form or API write without this session's CSRF token: 403."""

    def __init__(self):
        super().__init__(403, "请求已过期或来源不明（CSRF 校验失败），请刷新页面后重试")


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use (kept in the signed session cookie)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def new_csrf_token(request: Request) -> str:
    """A fresh CSRF token (at sign-in, with the new session id)."""
    request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


async def verify_csrf(request: Request) -> None:
    """Refuse a write (POST, PUT, PATCH, DELETE) without this session's token in the header or form field."""
    if request.method not in UNSAFE:
        return
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    kind = request.headers.get("content-type", "")
    if not given and (kind.startswith("application/x-www-form-urlencoded") or kind.startswith("multipart/form-data")):
        given = (await request.form()).get(CSRF_FIELD)
    if not expected or not isinstance(given, str) or not hmac.compare_digest(expected, given):
        log.warning("CSRF refused: %s %s from %s", request.method, request.url.path,
                    request.client.host if request.client else "?")
        raise CsrfRefused()


async def read_upload(file: UploadFile, settings: ServeSettings) -> bytes:
    """An uploaded file's bytes, read in chunks and refused (413) as soon as they pass the limit."""
    parts, size = [], 0
    while chunk := await file.read(CHUNK):
        size += len(chunk)
        if size > settings.max_upload_bytes:
            raise UploadTooLarge(settings.max_upload_bytes)
        parts.append(chunk)
    return b"".join(parts)


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes ends in 413 as it streams in, never read whole."""

    def __init__(self, app: ASGIApp, limit: int, slack: int = 64 * 1024):
        self.app, self.limit, self.slack = app, limit, slack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # the body may exceed the file's limit by its form fields and multipart framing
        allowed = self.limit + self.slack
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > allowed:
            return await _too_large(scope, receive, send, self.limit)
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > allowed:
                    raise UploadTooLarge(self.limit)
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except UploadTooLarge:
            if started:
                raise
            await _too_large(scope, receive, send, self.limit)


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """Answer 413 (a page, or JSON for /api) without reading the body."""
    from starlette.responses import HTMLResponse, JSONResponse

    error = UploadTooLarge(limit)
    log.warning("refused a body over %d bytes: %s %s", limit, scope.get("method"), scope.get("path"))
    if scope.get("path", "").startswith("/api"):
        response = JSONResponse({"detail": error.detail}, status_code=413, headers={"connection": "close"})
    else:
        response = HTMLResponse(_error_page(413, error.detail), status_code=413, headers={"connection": "close"})
    await response(scope, receive, send)


def _error_page(status: int, message: str) -> str:
    """A bare error page (for answers given before the application, e.g. 413 from the body limit)."""
    from html import escape

    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{status}</title>'
            f'<link rel="stylesheet" href="/static/app.css"></head><body><main class="error">'
            f"<h1>{status}</h1><p>{escape(message)}</p><p><a href=\"/\">返回首页</a></p>"
            "</main></body></html>")


class SecurityHeaders:
    """ASGI middleware: the CSP and the other security headers on every answer; no caching of pages."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope.get("path", "").startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                if not static and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
