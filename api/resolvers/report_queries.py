from __future__ import annotations

import strawberry
from graphql import GraphQLError

from api.context import Info, actor_of
from api.types.report import Report, ReportConnection, ReportEdge
from api.types.ticket import PageInfo
from desk import reports
from desk.errors import DeskError


@strawberry.type
class ReportQueries:
    @strawberry.field(description="The workspace's reports, newest first; first <= 100.")
    async def reports(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> ReportConnection:
        try:
            page = await reports.list_reports(actor_of(info), first, after)
        except DeskError as error:
            raise GraphQLError(
                error.message, extensions={"code": error.code.value, "field": error.field}
            ) from None
        edges = [ReportEdge(cursor=page.cursor(r), node=Report(model=r)) for r in page.reports]
        return ReportConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total_count,
        )

    @strawberry.field(description="Null for an ID that names no report of this workspace.")
    async def report(self, info: Info, id: strawberry.ID) -> Report | None:
        model = await reports.get_report(actor_of(info), id)
        return None if model is None else Report(model=model)
