"""The desk's pages: /desk (month, download, upload), the preview of an upload, its confirmation."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from streams.serve import audit
from streams.serve.accounts.models import User
from streams.serve.accounts.service import require_role, settings_of
from streams.serve.desk import service
from streams.serve.desk.service import DeskError
from streams.serve.desk.wording import detail_zh
from streams.serve.security import read_upload
from streams.serve.templating import render

log = logging.getLogger(__name__)

router = APIRouter()
#: Only those who hand in ledgers: the bureau (for all) and the departments (their own); a viewer gets 403.
desk_user = require_role("bureau", "department")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REASONS = {"ledger_schema": "格式或内容有误", "ledger_duplicate_row": "重复行", "ledger_not_yours": "非本单位项目"}
WARNINGS = {"stage_regression": "阶段倒退", "date_differs": "日期与记录不符", "missing_from_ledger": "台账中缺少",
            "total_differs": "合计不符"}


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _desk_page(request: Request, user: User, month: str | None = None, error: str | None = None,
               status_code: int = 200) -> Response:
    return render(request, "desk.html", status_code=status_code, months=service.months(),
                  month=month or service.default_month(), error=error, scope=user.department or "全区",
                  max_mb=settings_of(request).max_upload_bytes // (1024 * 1024))


@router.get("/desk")
def desk(request: Request, user: User = Depends(desk_user)) -> Response:
    """The month picker, the download of the month's ledger and the upload form."""
    return _desk_page(request, user)


@router.get("/desk/ledger")
def download(request: Request, month: str, user: User = Depends(desk_user)) -> Response:
    """The month's ledger of the user's own projects (the bureau's: all), as .xlsx."""
    try:
        data = service.export_ledger(settings_of(request), user, month)
    except DeskError as e:
        return _desk_page(request, user, month, str(e), 400)
    name = service.export_name(user, month)
    disposition = f"attachment; filename=\"ledger-{month}.xlsx\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=XLSX, headers={"content-disposition": disposition})


@router.post("/desk/upload")
async def upload(request: Request, month: str = Form(...), file: UploadFile = File(...),
                 user: User = Depends(desk_user)) -> Response:
    """Read and plan the uploaded ledger (nothing is sent), then show its preview."""
    settings = settings_of(request)
    data = await read_upload(file, settings)
    try:
        planned = await run_in_threadpool(service.plan_upload, settings, user, request.session.get("sid", ""),
                                          file.filename, data, month)
    except DeskError as e:
        audit.record(settings, user, "upload_refused",
                     {"file": file.filename, "month": month, "bytes": len(data), "error": str(e)}, _address(request))
        return _desk_page(request, user, month, str(e), 400)
    p = planned.preview
    audit.record(settings, user, "upload", {"upload": planned.id, "file": planned.file, "month": month,
                                                 "bytes": len(data), "rows": p["rows"],
                                                 "events": p["event_count"],
                                                 "rejected": len(p["all_rejected_rows"])}, _address(request))
    return RedirectResponse(f"/desk/upload/{planned.id}", status_code=303)


def _preview_page(request: Request, planned, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "desk_preview.html", status_code=status_code, upload=planned, p=planned.preview,
                  outcome=service.outcome(planned), error=error, reasons=REASONS, warnings=WARNINGS,
                  shown=service.PREVIEW_EVENTS, detail_zh=detail_zh)


@router.get("/desk/upload/{upload_id}")
def preview(request: Request, upload_id: str, user: User = Depends(desk_user)) -> Response:
    """An upload's preview: its accounting, rejected rows, warnings and events; the confirmation, or its result."""
    try:
        planned = service.find(settings_of(request), user, request.session.get("sid", ""), upload_id)
    except DeskError as e:
        return _desk_page(request, user, None, str(e), 404)
    return _preview_page(request, planned)


@router.post("/desk/confirm/{upload_id}")
async def confirm(request: Request, upload_id: str, user: User = Depends(desk_user)) -> Response:
    """Send the planned events (once: a second confirmation sends nothing), then show the result."""
    settings = settings_of(request)
    sid = request.session.get("sid", "")
    try:
        before = service.find(settings, user, sid, upload_id)
        done = await run_in_threadpool(service.confirm, settings, user, sid, upload_id)
    except DeskError as e:
        try:
            planned = service.find(settings, user, sid, upload_id)
        except DeskError:
            return _desk_page(request, user, None, str(e), 404)
        return _preview_page(request, planned, str(e), 409)
    if before.status not in ("sent", "sending"):
        audit.record(settings, user, "confirm", {"upload": upload_id, "file": done.file, "month": done.month,
                                                      "status": done.status, **(done.report or {})},
                     _address(request))
    return RedirectResponse(f"/desk/upload/{upload_id}", status_code=303)
