"""Live stage counts: counters maintained in the transaction of every change."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from tortoise.expressions import F

from desk.events import TOPIC_COUNTS, EventBatch
from desk.sql import fetch
from models import Channel, StageCounter

CountKey = tuple[uuid.UUID, str]  # (stage id, channel)


async def create_counters(workspace_id: uuid.UUID, stage_id: uuid.UUID) -> None:
    await StageCounter.bulk_create(
        [
            StageCounter(workspace_id=workspace_id, stage_id=stage_id, channel=channel, count=0)
            for channel in Channel
        ]
    )


async def apply_changes(
    workspace_id: uuid.UUID, deltas: Counter[CountKey], batch: EventBatch
) -> int:
    """Apply count deltas and bump the workspace's counts version; returns the new version.

    Counter rows are updated in a fixed order and the workspace row last, so concurrent
    transactions never wait on each other in a cycle.
    """
    for (stage_id, channel), delta in sorted(
        deltas.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])
    ):
        if delta:
            await StageCounter.filter(stage_id=stage_id, channel=channel).update(
                count=F("count") + delta
            )
    rows = await fetch(
        "UPDATE workspace SET counts_version = counts_version + 1 WHERE id = ? "
        "RETURNING counts_version",
        workspace_id,
    )
    version = int(rows[0]["counts_version"])
    batch.add(workspace_id, TOPIC_COUNTS, {"version": version})
    return version


@dataclass(frozen=True)
class CountsSnapshot:
    version: int
    by_stage: dict[uuid.UUID, int]


async def read_counts(workspace_id: uuid.UUID, channel: Channel | None = None) -> CountsSnapshot:
    """The counts and their version, read by one statement (so they agree with each other)."""
    rows = await fetch(
        "SELECT w.counts_version AS version, c.stage_id AS stage_id, c.channel AS channel, "
        "c.count AS count FROM workspace w LEFT JOIN stage_counter c ON c.workspace_id = w.id "
        "WHERE w.id = ?",
        workspace_id,
    )
    version = int(rows[0]["version"]) if rows else 0
    by_stage: dict[uuid.UUID, int] = {}
    for row in rows:
        if row["stage_id"] is None:
            continue
        if channel is not None and row["channel"] != channel.value:
            continue
        stage_id = (
            row["stage_id"]
            if isinstance(row["stage_id"], uuid.UUID)
            else uuid.UUID(row["stage_id"])
        )
        by_stage[stage_id] = by_stage.get(stage_id, 0) + int(row["count"])
    return CountsSnapshot(version=version, by_stage=by_stage)
