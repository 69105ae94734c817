"""/bulletins: the periods issued with their DOCX and PDF, and (bureau) the current one made on request."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from streams.core.clock import cst_at
from streams.documents.chinese import period_name
from streams.serve import audit
from streams.serve.accounts.models import User
from streams.serve.accounts.service import current_user, require_role, settings_of
from streams.serve.bulletins import service
from streams.serve.templating import render

log = logging.getLogger(__name__)

router = APIRouter()


@router.get("/bulletins")
def bulletins(request: Request, made: str | None = None, user: User = Depends(current_user)):
    """The issued bulletins, newest period first; the bureau may make the current month's, quarter's or year's."""
    settings = settings_of(request)
    items = service.issued(settings.bulletins)
    day = service.as_of(settings)
    choices = [(p, period_name(p)) for p in service.current_periods(day)]
    return render(request, "bulletins.html", items=items, choices=choices, as_of=day,
                  can_make=user.role == "bureau", made=made if made in {i.period for i in items} else None,
                  written=lambda i: cst_at(i.written).strftime("%Y-%m-%d %H:%M"), period_name=period_name)


def disposition(name: str, fallback: str) -> str:
    """``attachment`` with an ASCII name and the Chinese one in RFC 5987 ``filename*``."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/bulletins/{period}/{fmt}")
def download(request: Request, period: str, fmt: str):
    """One bulletin's DOCX or PDF, under its Chinese title."""
    path = service.file_of(settings_of(request).bulletins, period, fmt)
    if path is None:
        raise HTTPException(404, "没有这一期通报的该格式文件")
    issued = service.Issued(path.stem.removeprefix("bulletin-"))
    return FileResponse(path, media_type=service.FORMATS[fmt],
                        headers={"Content-Disposition": disposition(f"{issued.title}.{fmt}", path.name)})


@router.post("/bulletins/generate")
async def generate(request: Request, period: str = Form(..., max_length=16),
                   user: User = Depends(require_role("bureau"))):
    """Make a period's bulletin from the serve's figures, in a worker thread (the server keeps answering)."""
    settings = settings_of(request)
    started = datetime.now()
    try:
        files = await run_in_threadpool(service.generate, settings, period)
    except service.Busy:
        raise HTTPException(409, "另一期通报正在生成，请稍后刷新") from None
    except (ValueError, LookupError) as e:
        raise HTTPException(400, f"无法生成 {period} 的通报：{e}") from e
    except Exception as e:  # the topic unreachable, Chromium missing: say so, keep serving
        log.exception("bulletin %s could not be made", period)
        raise HTTPException(503, f"通报生成失败：{type(e).__name__}: {e}") from e
    label = next(iter(files.values())).stem.removeprefix("bulletin-")
    audit.record(settings, user, "bulletin_made",
                 {"period": label, "files": sorted(p.name for p in files.values()),
                  "seconds": round((datetime.now() - started).total_seconds(), 1)},
                 request.client.host if request.client else None)
    return RedirectResponse(f"/bulletins?made={quote(label)}", status_code=303)
