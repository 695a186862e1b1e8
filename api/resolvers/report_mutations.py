from __future__ import annotations

import strawberry

from api.context import Info, actor_of
from api.resolvers.outcome import attempt
from api.types.report import GenerateReportInput, Report, ReportPayload
from desk import reports


@strawberry.type
class ReportMutations:
    @strawberry.mutation(
        description="MANAGER, ADMIN. Returns the PENDING report at once; a worker generates it."
    )
    async def generate_report(self, info: Info, input: GenerateReportInput) -> ReportPayload:
        report, errors = await attempt(
            reports.request_report(
                info.context.services.desk,
                actor_of(info),
                input.name,
                input.start_date,
                input.end_date,
                input.channel,
                input.timezone,
            )
        )
        return ReportPayload(
            report=None if report is None else Report(model=report), user_errors=errors
        )
