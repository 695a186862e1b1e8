"""Backdated analytics at scale: stageCountsAt and stageDurations over 1,000,000 transitions.

    .venv/bin/python -m bench.analytics [--quick]

A private PostgreSQL with one workspace whose log holds a million transitions (200,000 tickets,
five transitions each, all within about a month: a dense log, some 30,000 exits a day). Each
query runs through the domain functions the resolvers call, at instants and over windows
spread across the log, warm (the second of two runs); the slowest of each kind is reported
against the goal. Durations cost grows with the exits inside the window (reported), not with
the size of the log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import asyncpg

from bench import seed
from bench.environment import private_servers
from desk import backdated
from models import Channel
from models.database import open_database

GOAL_MS = 500.0


async def _timed(work: Any) -> float:
    await work()  # warm
    began = time.perf_counter()
    await work()
    return (time.perf_counter() - began) * 1000


async def _plans(database: str, workspace_id: uuid.UUID, at: Any) -> dict[str, list[str]]:
    """EXPLAIN of the two statements behind stageCountsAt (forward and backward)."""
    conn = await asyncpg.connect(seed.pg_dsn(database))
    try:
        forward = await conn.fetch(
            "EXPLAIN SELECT from_stage_id, to_stage_id, COUNT(*) FROM stage_transition "
            "WHERE workspace_id = $1 AND at <= $2 GROUP BY from_stage_id, to_stage_id",
            workspace_id,
            at,
        )
        exits = await conn.fetch(
            "EXPLAIN SELECT e.id FROM stage_transition e WHERE e.workspace_id = $1 "
            "AND e.at >= $2 AND e.at <= $3 AND e.from_stage_id IS NOT NULL",
            workspace_id,
            at - timedelta(days=1),
            at,
        )
    finally:
        await conn.close()
    return {"counts_forward": [r[0] for r in forward], "duration_exits": [r[0] for r in exits]}


async def _count_star(database: str, workspace_id: uuid.UUID) -> float:
    """The baseline: counting the workspace's tickets, as a service without counters would."""
    conn = await asyncpg.connect(seed.pg_dsn(database))
    try:
        query = "SELECT count(*) FROM ticket WHERE workspace_id = $1"
        await conn.fetchval(query, workspace_id)
        timings = []
        for _ in range(5):
            began = time.perf_counter()
            await conn.fetchval(query, workspace_id)
            timings.append((time.perf_counter() - began) * 1000)
    finally:
        await conn.close()
    return sorted(timings)[len(timings) // 2]


async def run(quick: bool) -> list[dict[str, Any]]:
    tickets = 40_000 if quick else 200_000
    per_ticket = 5
    with private_servers() as servers:
        database = await servers.new_database()
        workspace = await seed.create(database)
        await seed.tickets(database, workspace, tickets, transitions_per_ticket=per_ticket)
        workspace_id = uuid.UUID(workspace.id)
        async with open_database(database, pool_size=4):
            span = await backdated._log_span(workspace_id)
            assert span is not None
            first, last = span
            instants = [first + (last - first) * f for f in (0.1, 0.3, 0.5, 0.7, 0.95)]
            counts_ms = []
            for at in instants:
                for channel in (None, Channel.WHATSAPP):
                    work = lambda a=at, c=channel: backdated.counts_at(workspace_id, a, c)  # noqa: E731
                    counts_ms.append(await _timed(work))
            durations: dict[str, tuple[float, int]] = {}
            windows = (
                ("1 hour", timedelta(hours=1)),
                ("1 day", timedelta(days=1)),
                ("7 days", timedelta(days=7)),
            )
            for label, window in windows:
                end = first + (last - first) * 0.9
                views = await backdated.durations_between(workspace_id, end - window, end)
                ms = await _timed(
                    lambda e=end, w=window: backdated.durations_between(workspace_id, e - w, e)
                )
                durations[label] = (ms, sum(v.exits for v in views))
            plans = await _plans(database, workspace_id, instants[2])
        count_star_ms = await _count_star(database, workspace_id)
    transitions = tickets * per_ticket
    worst_counts = max(counts_ms)
    rows: list[dict[str, Any]] = [
        {
            "scenario": f"analytics: stageCountsAt, {transitions:,} transitions (worst of "
            f"{len(counts_ms)})",
            "unit": "ms",
            "ours": round(worst_counts, 1),
            "baseline": round(count_star_ms, 1),
            "baseline_is": "SELECT count(*) FROM ticket WHERE workspace_id = $1",
            "ratio": round(worst_counts / count_star_ms, 3),
            "goal": f"< {GOAL_MS:g} ms",
            "passed": worst_counts < GOAL_MS,
            "all_ms": [round(v, 1) for v in counts_ms],
            "plan": plans["counts_forward"],
        }
    ]
    for label, (ms, exits) in durations.items():
        rows.append(
            {
                "scenario": f"analytics: stageDurations, {label} window ({exits:,} exits), "
                f"{transitions:,} transitions",
                "unit": "ms",
                "ours": round(ms, 1),
                "baseline": None,
                "goal": f"< {GOAL_MS:g} ms",
                "passed": ms < GOAL_MS,
                **({"plan": plans["duration_exits"]} if label == "1 day" else {}),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics")
    parser.add_argument("--quick", action="store_true", help="200,000 transitions instead of 1M")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.quick)), indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
