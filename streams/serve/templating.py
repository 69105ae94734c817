"""Server-side pages: the Jinja2 templates and ``render``, which gives every page the user, CSRF token and nav."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from streams.serve.security import csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

#: The navigation: (label, path, roles that see it; empty: everyone signed in).
NAV = (
    ("督查大屏", "/board", ()),
    ("项目", "/projects", ()),
    ("台账填报", "/desk", ("bureau", "department")),
    ("通报", "/bulletins", ()),
)


def nav(request: Request) -> list[dict]:
    """The nav entries this user sees, the current one marked."""
    user = getattr(request.state, "user", None)
    if user is None:
        return []
    here = request.url.path
    return [{"label": label, "href": href, "current": here == href or here.startswith(href + "/")}
            for label, href, roles in NAV if not roles or user.role in roles]


def render(request: Request, name: str, status_code: int = 200, headers: dict | None = None, **context):
    """The page ``name`` with ``user``, ``csrf_token`` and ``nav`` added to ``context``."""
    context = {"user": getattr(request.state, "user", None), "csrf_token": csrf_token(request),
               "nav": nav(request), **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)
