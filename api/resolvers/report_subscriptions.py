from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from api.context import Info, actor_of
from api.types.report import Report
from desk import reports
from desk.events import TOPIC_REPORTS, channel_name
from models import Report as ReportModel


def _state(report: ReportModel) -> tuple[object, ...]:
    return report.status, report.progress, report.row_count, report.error


@strawberry.type
class ReportSubscriptions:
    @strawberry.subscription(
        description="The report now, then after every change; completes after READY or FAILED."
    )
    async def report_progress(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Report, None]:
        actor = actor_of(info)
        bus = info.context.services.bus
        # subscribe before reading, so no change between the read and the first event is missed
        async with bus.subscribe(channel_name(actor.workspace_id, TOPIC_REPORTS)) as events:
            report = await reports.get_report(actor, id)
            if report is None:
                raise GraphQLError("report not found", extensions={"code": "NOT_FOUND"})
            yield Report(model=report)
            last = _state(report)
            if report.status in reports.FINISHED:
                return
            async for item in events:
                if isinstance(item, dict) and item.get("reportId") != str(report.id):
                    continue
                current = await reports.get_report(actor, id)
                if current is None:
                    return
                if _state(current) != last:
                    last = _state(current)
                    yield Report(model=current)
                if current.status in reports.FINISHED:
                    return
