"""Live stage counts, read from the maintained counters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from desk.access import Actor, Permission
from desk.counters import read_counts
from desk.service import Desk
from models import Channel, Stage


@dataclass(frozen=True)
class StageCountsView:
    version: int
    at: datetime
    channel: Channel | None
    counts: list[tuple[Stage, int]]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.counts)


async def live_stage_counts(
    desk: Desk, workspace_id: uuid.UUID, channel: Channel | None = None
) -> StageCountsView:
    snapshot = await read_counts(workspace_id, channel)
    stages = await Stage.filter(workspace_id=workspace_id, deleted_at__isnull=True).order_by(
        "position", "created_at"
    )
    return StageCountsView(
        version=snapshot.version,
        at=desk.clock.now(),
        channel=channel,
        counts=[(stage, snapshot.by_stage.get(stage.id, 0)) for stage in stages],
    )


async def stage_counts(desk: Desk, actor: Actor, channel: Channel | None = None) -> StageCountsView:
    actor.require(Permission.READ)
    return await live_stage_counts(desk, actor.workspace_id, channel)
