"""One consistent snapshot of a workspace's live counts, for every channel at once.

A live feed reads it once per burst of changes and hands each subscriber the view of its
channel, so a thousand subscribers of one workspace cost one read, not a thousand.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from desk.analytics import StageCountsView
from desk.service import Desk
from desk.sql import fetch
from models import Channel, Stage


@dataclass(frozen=True)
class LiveCounts:
    workspace_id: uuid.UUID
    version: int
    at: datetime
    stages: list[Stage]  # live, in position order
    by_channel: dict[str, dict[uuid.UUID, int]]  # channel -> stage id -> count
    _views: dict[Channel | None, StageCountsView] = field(default_factory=dict, compare=False)

    def view(self, channel: Channel | None = None) -> StageCountsView:
        """The counts of one channel (None: all channels); built once per snapshot."""
        cached = self._views.get(channel)
        if cached is not None:
            return cached
        if channel is None:
            totals: dict[uuid.UUID, int] = defaultdict(int)
            for counts in self.by_channel.values():
                for stage_id, count in counts.items():
                    totals[stage_id] += count
        else:
            totals = defaultdict(int, self.by_channel.get(channel.value, {}))
        view = StageCountsView(
            version=self.version,
            at=self.at,
            channel=channel,
            counts=[(stage, totals[stage.id]) for stage in self.stages],
        )
        self._views[channel] = view
        return view


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def read_live_counts(desk: Desk, workspace_id: uuid.UUID) -> LiveCounts:
    """The version, the counters and which stages are live, all read by one statement.

    Stage names and positions come from a second read; the set of stages and the counts
    always belong to the version they are shown with.
    """
    rows = await fetch(
        "SELECT w.counts_version AS version, c.stage_id AS stage_id, c.channel AS channel, "
        "c.count AS count, CASE WHEN s.deleted_at IS NULL THEN 1 ELSE 0 END AS live "
        "FROM workspace w "
        "LEFT JOIN stage_counter c ON c.workspace_id = w.id "
        "LEFT JOIN stage s ON s.id = c.stage_id "
        "WHERE w.id = ?",
        workspace_id,
    )
    version = int(rows[0]["version"]) if rows else 0
    by_channel: dict[str, dict[uuid.UUID, int]] = defaultdict(dict)
    live: set[uuid.UUID] = set()
    for row in rows:
        if row["stage_id"] is None or not int(row["live"]):
            continue
        stage_id = _uuid(row["stage_id"])
        live.add(stage_id)
        by_channel[str(row["channel"])][stage_id] = int(row["count"])
    stages = (
        await Stage.filter(id__in=list(live)).order_by("position", "created_at") if live else []
    )
    return LiveCounts(
        workspace_id=workspace_id,
        version=version,
        at=desk.clock.now(),
        stages=list(stages),
        by_channel=dict(by_channel),
    )
