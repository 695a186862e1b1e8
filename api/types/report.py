from __future__ import annotations

from datetime import date, datetime

import strawberry

from api.types.enums import Channel, ReportStatus
from api.types.payloads import UserError
from api.types.ticket import PageInfo
from models import Report as ReportModel
from models import ReportStatus as Status


def download_url(report_id: object) -> str:
    return f"/reports/{report_id}/download"


@strawberry.type(description="A customer ticket report: its filters, progress and file.")
class Report:
    model: strawberry.Private[ReportModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def start_date(self) -> date:
        return self.model.start_date

    @strawberry.field(description="Inclusive.")
    def end_date(self) -> date:
        return self.model.end_date

    @strawberry.field(description="Null: every channel.")
    def channel(self) -> Channel | None:
        return self.model.channel

    @strawberry.field(description="The IANA time zone of the dates and of the file's times.")
    def timezone(self) -> str:
        return self.model.timezone

    @strawberry.field
    def status(self) -> ReportStatus:
        return self.model.status

    @strawberry.field(description="0..1")
    def progress(self) -> float:
        return self.model.progress

    @strawberry.field(description="Rows in the file, once READY.")
    def row_count(self) -> int | None:
        return self.model.row_count

    @strawberry.field(description="Why it FAILED.")
    def error(self) -> str | None:
        return self.model.error

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field
    def completed_at(self) -> datetime | None:
        return self.model.completed_at

    @strawberry.field(description="The name of the API key that asked for it.")
    def created_by(self) -> str:
        return self.model.created_by

    @strawberry.field(description='"/reports/{id}/download" once READY (same Authorization).')
    def download_url(self) -> str | None:
        if self.model.status != Status.READY:
            return None
        return download_url(self.model.id)


@strawberry.type
class ReportEdge:
    cursor: str
    node: Report


@strawberry.type
class ReportConnection:
    edges: list[ReportEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class GenerateReportInput:
    name: str
    start_date: date
    end_date: date = strawberry.field(description="Inclusive; at most 366 days after startDate.")
    channel: Channel | None = None
    timezone: str = strawberry.field(default="UTC", description="IANA name, e.g. Europe/Berlin.")


@strawberry.type
class ReportPayload:
    report: Report | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
