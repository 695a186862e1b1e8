"""Customer ticket reports: requests, history, and where a ready report's file is.

A request is validated and stored as PENDING at once; `desk.report_generation` does the work in
the background.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from tortoise.expressions import Q

from desk.access import Actor, Permission
from desk.errors import DeskError, ErrorCode, invalid
from desk.events import TOPIC_REPORTS, EventBatch
from desk.ids import parse_id
from desk.service import Desk
from desk.ticket_queries import decode_cursor, encode_cursor
from models import Channel, Report, ReportStatus

MAX_NAME = 100
MAX_RANGE_DAYS = 366
MAX_PAGE = 100
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(9998, 12, 31)
FINISHED = frozenset({ReportStatus.READY, ReportStatus.FAILED})


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    return name in _time_zones()


@dataclass(frozen=True)
class ReportRequest:
    name: str
    start_date: date
    end_date: date
    channel: Channel | None
    timezone: str


def validate_request(
    name: str, start_date: date, end_date: date, channel: Channel | None, timezone: str
) -> ReportRequest:
    """The request with its name trimmed, or a VALIDATION error naming the first bad field."""
    trimmed = name.strip()
    if not 1 <= len(trimmed) <= MAX_NAME:
        raise invalid(f"a report name has 1 to {MAX_NAME} characters", "name")
    for field, value in (("startDate", start_date), ("endDate", end_date)):
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            raise invalid(f"{field} must be between {EARLIEST_DATE} and {LATEST_DATE}", field)
    if end_date < start_date:
        raise invalid("endDate cannot be before startDate", "endDate")
    days = (end_date - start_date).days + 1
    if days > MAX_RANGE_DAYS:
        raise invalid(
            f"a report covers at most {MAX_RANGE_DAYS} days; this range has {days}", "endDate"
        )
    if not is_time_zone(timezone):
        raise invalid(
            f"{timezone[:64]!r} is not an IANA time zone name (e.g. UTC, Europe/Berlin)", "timezone"
        )
    return ReportRequest(trimmed, start_date, end_date, channel, timezone)


def report_event(report: Report) -> dict[str, Any]:
    return {
        "reportId": str(report.id),
        "status": report.status.value,
        "progress": report.progress,
        "rowCount": report.row_count,
    }


def publish_report(batch: EventBatch, report: Report) -> None:
    batch.add(report.workspace_id, TOPIC_REPORTS, report_event(report))


async def request_report(
    desk: Desk,
    actor: Actor,
    name: str,
    start_date: date,
    end_date: date,
    channel: Channel | None = None,
    timezone: str = "UTC",
) -> Report:
    """Store a PENDING report for the background worker to generate; returns it at once."""
    actor.require(Permission.REPORTS)
    request = validate_request(name, start_date, end_date, channel, timezone)
    async with desk.transaction() as batch:
        report = await Report.create(
            workspace_id=actor.workspace_id,
            name=request.name,
            start_date=request.start_date,
            end_date=request.end_date,
            channel=request.channel,
            timezone=request.timezone,
            status=ReportStatus.PENDING,
            progress=0.0,
            created_by=actor.name,
            created_at=desk.clock.now(),
        )
        publish_report(batch, report)
    return report


async def get_report(actor: Actor, report_id: object) -> Report | None:
    """The report if it is one of the caller's workspace; None for anything else."""
    actor.require(Permission.READ)
    parsed = parse_id(report_id)
    if parsed is None:
        return None
    return await Report.get_or_none(id=parsed, workspace_id=actor.workspace_id)


@dataclass
class ReportPage:
    reports: list[Report]
    has_next_page: bool
    total_count: int

    def cursor(self, report: Report) -> str:
        return encode_cursor(report.created_at, report.id)


async def list_reports(actor: Actor, first: int = 20, after: str | None = None) -> ReportPage:
    """The workspace's reports, newest first."""
    actor.require(Permission.READ)
    if first < 0:
        raise invalid("first cannot be negative", "first")
    if first > MAX_PAGE:
        raise DeskError(ErrorCode.LIMIT_EXCEEDED, f"first is at most {MAX_PAGE}", ["first"])
    base = Report.filter(workspace_id=actor.workspace_id)
    page = base
    if after is not None:
        created_at, report_id = decode_cursor(after)
        page = page.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=report_id)
        )
    rows = await page.order_by("-created_at", "-id").limit(first + 1)
    return ReportPage(
        reports=rows[:first], has_next_page=len(rows) > first, total_count=await base.count()
    )


def file_name_for(workspace_id: uuid.UUID, report_id: uuid.UUID) -> str:
    """Where a ready report's file is, relative to the reports directory."""
    return f"{workspace_id}/{report_id}.csv"


def ready_file(reports_dir: Path, report: Report) -> Path | None:
    """The file of a READY report, or None when it is not ready or its file is gone."""
    if report.status != ReportStatus.READY or report.file_name is None:
        return None
    path = reports_dir / report.file_name
    return path if path.is_file() else None
