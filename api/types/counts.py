from __future__ import annotations

from datetime import datetime

import strawberry

from api.types.enums import Channel
from api.types.stage import Stage
from desk.analytics import StageCountsView


@strawberry.type
class StageCount:
    stage: Stage
    count: int


@strawberry.type(description="How many tickets are in each live stage, with a growing version.")
class StageCounts:
    version: int
    at: datetime
    channel: Channel | None
    total: int
    counts: list[StageCount]

    @classmethod
    def from_view(cls, view: StageCountsView) -> StageCounts:
        return cls(
            version=view.version,
            at=view.at,
            channel=view.channel,
            total=view.total,
            counts=[StageCount(stage=Stage.from_model(s), count=c) for s, c in view.counts],
        )
