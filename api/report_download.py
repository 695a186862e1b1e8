"""GET /reports/{id}/download: a READY report's CSV, for an API key of its workspace.

401 without a valid key; 404 for an ID that names no report of the key's workspace (malformed,
unknown or another workspace's: the same answer) and for a file that is gone; 409 while the
report is not READY (PENDING, RUNNING or FAILED), so a client can tell "wait" from "no".
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from api.graphql_view import actor_for
from api.services import Services
from desk import reports
from desk.csv_safety import download_file_names
from models import ReportStatus


def content_disposition(report_name: str) -> str:
    """`attachment` with a quoted ASCII file name and the RFC 6266 UTF-8 one."""
    ascii_name, utf8_name = download_file_names(report_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"


def _error(status: int, message: str, **headers: str) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


async def download_report(request: Request) -> Response:
    services: Services = request.app.state.services
    actor = await actor_for(services, request.headers.get("authorization"))
    if actor is None:
        return _error(401, "send Authorization: Bearer <API key>", **{"WWW-Authenticate": "Bearer"})
    report = await reports.get_report(actor, request.path_params["report_id"])
    if report is None:
        return _error(404, "report not found")
    if report.status != ReportStatus.READY:
        return _error(409, f"the report is {report.status.value}; it can be downloaded once READY")
    path = reports.ready_file(services.settings.reports_dir, report)
    if path is None:
        return _error(404, "the report's file is no longer available; generate the report again")
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": content_disposition(report.name),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
