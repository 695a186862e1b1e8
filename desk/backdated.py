"""Backdated analytics, computed from the transition log.

Stage counts at a past instant: every transition moves one ticket out of its from-stage and into
its to-stage, and a ticket's transitions form a chain, so the count of a stage at T is the
number of transitions into it minus the number out of it among the transitions at or before T.
That is one set-based aggregate (no per-ticket "latest transition" search). When T is recent it
is cheaper to walk back from the live counters instead: counts(T) = counters - net flow after T,
read by one statement so both sides see the same committed state.

Time in stage: each transition out of a stage (an exit) carries the time the ticket spent in
that stage (stay_us, stored when the transition was written), so the window's exits are read
by the (workspace_id, at) index with no pairing. PostgreSQL aggregates them per stage
(percentile_cont), SQLite ranks them with window functions: a few rows per stage leave the
database.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from desk.access import Actor, Permission
from desk.analytics import StageCountsView
from desk.errors import invalid
from desk.sql import fetch, is_postgres
from models import Channel, Stage, StageTransition

MAX_DURATION_WINDOW = timedelta(days=366)

FlowRows = list[dict[str, object]]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise invalid("date-times need an offset", "at")
    return moment.astimezone(UTC)


def _as_uuid(value: object) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


async def stages_live_at(workspace_id: uuid.UUID, at: datetime) -> list[Stage]:
    """The stages that were live at the instant: created by then and not yet deleted."""
    return await (
        Stage.filter(workspace_id=workspace_id, created_at__lte=at)
        .filter(Q(deleted_at__isnull=True) | Q(deleted_at__gt=at))
        .order_by("position", "created_at")
    )


async def _log_span(workspace_id: uuid.UUID) -> tuple[datetime, datetime] | None:
    """The times of the first and the last transition of the workspace (index look-ups)."""
    log = StageTransition.filter(workspace_id=workspace_id)
    first = await log.order_by("at").limit(1).values_list("at", flat=True)
    last = await log.order_by("-at").limit(1).values_list("at", flat=True)
    if not first or not last:
        return None
    return first[0], last[0]  # type: ignore[return-value]


def _channel_clause(channel: Channel | None, params: list[object]) -> str:
    if channel is None:
        return ""
    params.append(channel.value)
    return " AND channel = ?"


async def _flow_until(
    workspace_id: uuid.UUID, at: datetime, channel: Channel | None
) -> dict[uuid.UUID, int]:
    params: list[object] = [workspace_id, at]
    where = "workspace_id = ? AND at <= ?" + _channel_clause(channel, params)
    rows = await fetch(
        "SELECT from_stage_id, to_stage_id, COUNT(*) AS n FROM stage_transition "
        f"WHERE {where} GROUP BY from_stage_id, to_stage_id",
        *params,
    )
    counts: dict[uuid.UUID, int] = defaultdict(int)
    for row in rows:
        _add_flow(counts, row, 1)
    return counts


async def _counters_minus_flow_after(
    workspace_id: uuid.UUID, at: datetime, channel: Channel | None
) -> dict[uuid.UUID, int]:
    counter_params: list[object] = [workspace_id]
    counter_where = "workspace_id = ?" + _channel_clause(channel, counter_params)
    flow_params: list[object] = [workspace_id, at]
    flow_where = "workspace_id = ? AND at > ?" + _channel_clause(channel, flow_params)
    rows = await fetch(
        "SELECT NULL AS from_stage_id, stage_id AS to_stage_id, SUM(count) AS n, 1 AS live "
        f"FROM stage_counter WHERE {counter_where} GROUP BY stage_id "
        "UNION ALL "
        "SELECT from_stage_id, to_stage_id, COUNT(*) AS n, 0 AS live FROM stage_transition "
        f"WHERE {flow_where} GROUP BY from_stage_id, to_stage_id",
        *counter_params,
        *flow_params,
    )
    counts: dict[uuid.UUID, int] = defaultdict(int)
    for row in rows:
        _add_flow(counts, row, 1 if int(row["live"]) else -1)  # type: ignore[call-overload]
    return counts


def _add_flow(counts: dict[uuid.UUID, int], row: dict[str, object], sign: int) -> None:
    amount = int(row["n"] or 0) * sign  # type: ignore[call-overload]
    into = _as_uuid(row["to_stage_id"])
    out_of = _as_uuid(row["from_stage_id"])
    if into is not None:
        counts[into] += amount
    if out_of is not None:
        counts[out_of] -= amount


async def _last_transition_id(workspace_id: uuid.UUID, at: datetime) -> int:
    last = (
        await StageTransition.filter(workspace_id=workspace_id, at__lte=at)
        .order_by("-at")
        .limit(1)
        .values_list("at", flat=True)
    )
    if not last:
        return 0
    ids = await StageTransition.filter(workspace_id=workspace_id, at=last[0]).values_list(
        "id", flat=True
    )
    return max(int(i) for i in ids)  # type: ignore[call-overload]


async def counts_at(
    workspace_id: uuid.UUID, at: datetime, channel: Channel | None = None
) -> StageCountsView:
    """The stage counts as they were at the instant, over the stages live at that instant.

    ``version`` is the id of the workspace's last transition at or before the instant
    (0 before the first one): it grows as the instant moves forward.
    """
    at = _utc(at)
    stages = await stages_live_at(workspace_id, at)
    span = await _log_span(workspace_id)
    counts: dict[uuid.UUID, int] = {}
    version = 0
    if span is not None and at >= span[0]:
        first, last = span
        # walk whichever side of the instant holds fewer transitions (assuming an even rate)
        if at >= last or (at - first) > (last - at):
            counts = await _counters_minus_flow_after(workspace_id, at, channel)
        else:
            counts = await _flow_until(workspace_id, at, channel)
        version = await _last_transition_id(workspace_id, at)
    return StageCountsView(
        version=version,
        at=at,
        channel=channel,
        counts=[(stage, counts.get(stage.id, 0)) for stage in stages],
    )


async def stage_counts_at(
    actor: Actor, at: datetime, channel: Channel | None = None
) -> StageCountsView:
    actor.require(Permission.READ)
    return await counts_at(actor.workspace_id, at, channel)


@dataclass(frozen=True)
class StageDurationView:
    stage: Stage
    exits: int
    average_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None


_US_PER_SECOND = 1_000_000

# (exits, average, median, p90) of one stage, in microseconds
DurationStats = tuple[int, float, float, float]


def _exits_where(channel: Channel | None, params: list[object]) -> str:
    """The window's exits with their stored stays, by the (workspace_id[, channel], at) index."""
    channel_filter = ""
    if channel is not None:
        params.append(channel.value)
        channel_filter = " AND channel = ?"
    return (
        f"workspace_id = ? AND at >= ? AND at <= ?{channel_filter}"
        " AND from_stage_id IS NOT NULL AND stay_us IS NOT NULL"
    )


async def _stats_postgres(params: list[object], where: str) -> dict[uuid.UUID, DurationStats]:
    # one aggregate per stage; percentile_cont interpolates as _percentile does
    rows = await fetch(
        "SELECT from_stage_id AS stage_id, COUNT(*) AS n, AVG(stay_us) AS average,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY stay_us) AS median,"
        " percentile_cont(0.9) WITHIN GROUP (ORDER BY stay_us) AS p90"
        f" FROM stage_transition WHERE {where} GROUP BY from_stage_id",
        *params,
    )
    return {
        row["stage_id"]: (
            int(row["n"]),
            float(row["average"]),
            float(row["median"]),
            float(row["p90"]),
        )
        for row in rows
    }


async def _stats_sqlite(params: list[object], where: str) -> dict[uuid.UUID, DurationStats]:
    # k: 0-based rank of the lower neighbour of each percentile, (n - 1) * p, exact in
    # integers; the rows at k and k + 1 are enough to interpolate.
    rows = await fetch(
        "WITH ranked AS ("
        " SELECT from_stage_id AS stage_id, stay_us,"
        " ROW_NUMBER() OVER (PARTITION BY from_stage_id ORDER BY stay_us) - 1 AS k,"
        " COUNT(*) OVER (PARTITION BY from_stage_id) AS n,"
        " AVG(stay_us) OVER (PARTITION BY from_stage_id) AS average"
        f" FROM stage_transition WHERE {where}"
        ")"
        " SELECT stage_id, stay_us, k, n, average FROM ranked"
        " WHERE k IN ((n - 1) * 5 / 10, (n - 1) * 5 / 10 + 1,"
        " (n - 1) * 9 / 10, (n - 1) * 9 / 10 + 1)",
        *params,
    )
    ranked: dict[uuid.UUID, dict[int, float]] = defaultdict(dict)
    summary: dict[uuid.UUID, tuple[int, float]] = {}
    for row in rows:
        stage_id = uuid.UUID(str(row["stage_id"]))
        ranked[stage_id][int(row["k"])] = float(row["stay_us"])
        summary[stage_id] = (int(row["n"]), float(row["average"]))
    return {
        stage_id: (
            n,
            average,
            _percentile(ranked[stage_id], n, 5),
            _percentile(ranked[stage_id], n, 9),
        )
        for stage_id, (n, average) in summary.items()
    }


def _percentile(ranked: dict[int, float], n: int, tenths: int) -> float:
    """Linear interpolation between the closest ranks (as PostgreSQL's percentile_cont)."""
    position = (n - 1) * tenths
    k, remainder = divmod(position, 10)
    low = ranked[k]
    if remainder == 0:
        return low
    return low + (ranked[k + 1] - low) * remainder / 10


async def durations_between(
    workspace_id: uuid.UUID, start: datetime, end: datetime, channel: Channel | None = None
) -> list[StageDurationView]:
    """Time spent in each stage by the stays that ended inside [start, end]."""
    start, end = _utc(start), _utc(end)
    if start >= end:
        raise invalid("`from` must be before `to`", "from")
    if end - start > MAX_DURATION_WINDOW:
        raise invalid(f"the window is at most {MAX_DURATION_WINDOW.days} days", "to")
    params: list[object] = [workspace_id, start, end]
    where = _exits_where(channel, params)
    stats_of = _stats_postgres if is_postgres() else _stats_sqlite
    summary = await stats_of(params, where)
    stages = (
        await Stage.filter(workspace_id=workspace_id)
        .filter(Q(id__in=list(summary)) | Q(deleted_at__isnull=True))
        .order_by("position", "created_at")
    )
    views = []
    for stage in stages:
        if stage.id not in summary:
            views.append(StageDurationView(stage, 0, None, None, None))
            continue
        n, average, median, p90 = summary[stage.id]
        views.append(
            StageDurationView(
                stage=stage,
                exits=n,
                average_seconds=average / _US_PER_SECOND,
                median_seconds=median / _US_PER_SECOND,
                p90_seconds=p90 / _US_PER_SECOND,
            )
        )
    return views


async def stage_durations(
    actor: Actor, start: datetime, end: datetime, channel: Channel | None = None
) -> list[StageDurationView]:
    actor.require(Permission.READ)
    return await durations_between(actor.workspace_id, start, end, channel)
