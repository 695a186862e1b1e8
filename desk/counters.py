"""Live stage counts: counters maintained in the transaction of every change."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from desk.events import TOPIC_COUNTS, EventBatch
from desk.sql import fetch, is_postgres
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
    """Bump the workspace's counts version, then apply count deltas; returns the new version.

    The workspace row is updated first and every writer of counters goes through here, so
    the counter rows are only ever changed by the holder of the workspace row's lock:
    concurrent transactions never wait on each other in a cycle over counters.
    """
    changes = counter_changes(deltas)
    if is_postgres():
        rows = await fetch(
            f"WITH {bump_and_count_postgres()} SELECT counts_version FROM bumped",
            workspace_id,
            *changes,
        )
    else:
        rows = await fetch(_BUMP, workspace_id)
        if changes[0]:
            sql, values = _count_sqlite(changes)
            await fetch(sql, *values)
    return note_counts(workspace_id, int(rows[0]["counts_version"]), batch)


def counter_changes(deltas: Counter[CountKey]) -> tuple[list[uuid.UUID], list[str], list[int]]:
    """The non-zero deltas as three parallel lists (stage ids, channels, deltas), in key order."""
    stage_ids: list[uuid.UUID] = []
    channels: list[str] = []
    amounts: list[int] = []
    for (stage_id, channel), delta in sorted(
        deltas.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])
    ):
        if delta:
            stage_ids.append(stage_id)
            channels.append(channel)
            amounts.append(delta)
    return stage_ids, channels, amounts


def note_counts(workspace_id: uuid.UUID, version: int, batch: EventBatch) -> int:
    batch.add(workspace_id, TOPIC_COUNTS, {"version": version})
    return version


_BUMP = (
    "UPDATE workspace SET counts_version = counts_version + 1 WHERE id = ? RETURNING counts_version"
)


def bump_and_count_postgres(only_if: str | None = None) -> str:
    """Common table expressions `bumped` and `counted` that apply_changes runs on PostgreSQL.

    Parameters: the workspace id, then the three lists of counter_changes. With `only_if`
    (SQL on earlier expressions of the statement), nothing changes unless it holds. Joining
    `bumped` makes every counter row wait for the workspace row's update: the workspace row
    is always locked before any counter row.
    """
    condition = "" if only_if is None else f" AND {only_if}"
    return (
        f"bumped AS (UPDATE workspace SET counts_version = counts_version + 1 "
        f"WHERE id = ?{condition} RETURNING counts_version), "
        "counted AS (UPDATE stage_counter c SET count = c.count + d.delta "
        "FROM bumped, unnest(?::uuid[], ?::text[], ?::bigint[]) AS d(stage_id, channel, delta) "
        "WHERE c.stage_id = d.stage_id AND c.channel = d.channel)"
    )


def _count_sqlite(
    changes: tuple[list[uuid.UUID], list[str], list[int]],
) -> tuple[str, list[object]]:
    stage_ids, channels, amounts = changes
    values: list[object] = []
    for row in zip(stage_ids, channels, amounts, strict=True):
        values += row
    rows = ", ".join(["(?, ?, ?)"] * len(amounts))
    sql = (
        f"WITH d(stage_id, channel, delta) AS (VALUES {rows}) "
        "UPDATE stage_counter SET count = count + d.delta FROM d "
        "WHERE stage_counter.stage_id = d.stage_id AND stage_counter.channel = d.channel"
    )
    return sql, values


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
