from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.context import Info, actor_of
from api.types.analytics import StageDuration
from api.types.counts import StageCounts
from api.types.enums import Channel
from desk import backdated


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(
        description=(
            "The stage counts as they were at a past instant, over the stages live then. "
            "`version` is the id of the last transition at or before `at` (0 before any)."
        )
    )
    async def stage_counts_at(
        self, info: Info, at: datetime, channel: Channel | None = None
    ) -> StageCounts:
        return StageCounts.from_view(await backdated.stage_counts_at(actor_of(info), at, channel))

    @strawberry.field(
        description=(
            "Time spent in each stage by the stays that ended inside [from, to] "
            "(at most 366 days): live stages, and deleted ones with exits in the window."
        )
    )
    async def stage_durations(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        channel: Channel | None = None,
    ) -> list[StageDuration]:
        views = await backdated.stage_durations(actor_of(info), from_, to, channel)
        return [StageDuration.from_view(v) for v in views]
