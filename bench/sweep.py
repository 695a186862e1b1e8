"""Benchmark: auto-closing 100,000 due tickets vs one raw UPDATE of the same rows, same run.

    .venv/bin/python -m bench.sweep            # 100,000 tickets
    .venv/bin/python -m bench.sweep --quick    # 5,000 tickets

Needs PostgreSQL (BENCH_PG_DSN, default postgres://postgres@127.0.0.1:5432/postgres): it
creates a scratch database, and drops it afterwards. After a small warm-up sweep (a running
worker has its connections open), the baseline is one plain UPDATE of the due rows (the
same columns a close changes; no re-check, transitions, counters or events), rolled back.
It is measured just before the sweep and again just after it (moving the closed rows back:
same indexed columns), and the mean of the two is the baseline, so a machine that gets
busier or quieter during the run does not tilt the ratio. Ours is the real sweep
(`desk.autoclose.auto_close_due`) closing those rows with a transition, counters and an
event each. Every measurement starts from a vacuumed, analysed table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from desk.autoclose import auto_close_due
from desk.clock import ManualClock, to_us
from desk.counters import read_counts
from desk.service import Desk
from desk.sql import fetch
from desk.workspaces import create_workspace
from models import Channel, Stage, StageKind, Ticket
from models.database import migrate, open_database

ADMIN_DSN = os.environ.get("BENCH_PG_DSN", "postgres://postgres@127.0.0.1:5432/postgres")
GOAL = 3.0
FULL, QUICK = 100_000, 5_000
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PERIOD = timedelta(days=3)


class CountingPublisher:
    def __init__(self) -> None:
        self.changes = 0

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        if channel.endswith("changes"):
            self.changes += 1


async def run(quick: bool) -> dict[str, Any]:
    """Measure once; returns {scenario, ours, baseline, ratio, goal, passed} (seconds)."""
    tickets = QUICK if quick else FULL
    name = f"ts_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    base = ADMIN_DSN.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    admin = await asyncpg.connect(_asyncpg_dsn(ADMIN_DSN))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            return await _measure(url, tickets)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _measure(url: str, tickets: int) -> dict[str, Any]:
    async with open_database(url, pool_size=4) as ctx:
        await migrate(ctx)
        clock = ManualClock(CREATED)
        workspace, _ = await create_workspace(Desk(clock=clock), "Bench store")
        stages = {s.kind: s.id for s in await Stage.filter(workspace_id=workspace.id)}
        await _seed(url, workspace.id, tickets)
        now = CREATED + PERIOD + timedelta(seconds=1)
        await _warm_up(url, clock)

        await _vacuum(url)
        before = await _raw_update(
            url,
            "stage_id = $1, stage_kind = 'AUTO_CLOSED', version = version + 1, updated_at = $2, "
            "closed_at = $2, auto_close_anchor_us = NULL, auto_close_due_us = NULL",
            stages[StageKind.AUTO_CLOSED],
            now,
            workspace.id,
        )
        await _vacuum(url)
        clock.set(now)
        publisher = CountingPublisher()
        started = time.perf_counter()
        closed = await auto_close_due(Desk(clock=clock, publisher=publisher))
        ours = time.perf_counter() - started
        await _check(workspace.id, tickets, closed, publisher)
        await _vacuum(url)
        after = await _raw_update(
            url,
            "stage_id = $1, stage_kind = 'OPEN', version = version + 1, updated_at = $2, "
            f"closed_at = NULL, auto_close_anchor_us = {to_us(now)}, "
            f"auto_close_due_us = {to_us(now + PERIOD)}",
            stages[StageKind.OPEN],
            now,
            workspace.id,
        )
    baseline = (before + after) / 2
    ratio = ours / baseline
    return {
        "scenario": f"auto-close {tickets:,} due tickets (PostgreSQL) vs one raw UPDATE of them",
        "ours": round(ours, 3),
        "baseline": round(baseline, 3),
        "baseline_before_after": [round(before, 3), round(after, 3)],
        "ratio": round(ratio, 2),
        "goal": GOAL,
        "passed": ratio <= GOAL,
    }


async def _warm_up(url: str, clock: ManualClock) -> None:
    """A small sweep first, as a running worker has done before: connections open, types known.

    Its tickets fell due a day before the measured ones, so it leaves those alone.
    """
    earlier = CREATED - timedelta(days=1)
    workspace, _ = await create_workspace(Desk(clock=clock), "Warm-up store")
    await _seed(url, workspace.id, 40, created=earlier)
    clock.set(earlier + PERIOD + timedelta(seconds=1))
    if await auto_close_due(Desk(clock=clock), batch_size=10) != 40:
        raise RuntimeError("the warm-up sweep did not close its 40 tickets")


async def _seed(url: str, workspace_id: uuid.UUID, count: int, created: datetime = CREATED) -> None:
    """`count` Open tickets nobody wrote to since `created`: all due at `created` + 3 days."""
    open_stage = await Stage.get(workspace_id=workspace_id, kind=StageKind.OPEN)
    channels = [c.value for c in Channel]
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO ticket (id, workspace_id, customer_id, channel, stage_id, stage_kind, "
                "version, created_at, updated_at, period_started_at, auto_close_anchor_us, "
                "auto_close_due_us, "
                "snoozed_until_reply, wake_on_customer_reply) "
                "SELECT gen_random_uuid(), $1, 'customer-' || (n % 5000), "
                "($2::text[])[1 + n % 6], $3, "
                "'OPEN', 1, $4, $4, $4, $5, $6, FALSE, TRUE FROM generate_series(1, $7) AS n",
                workspace_id,
                channels,
                open_stage.id,
                created,
                to_us(created),
                to_us(created + PERIOD),
                count,
            )
            await conn.execute(
                "INSERT INTO stage_transition (workspace_id, ticket_id, channel, from_stage_id, "
                "to_stage_id, source, actor, at) SELECT workspace_id, id, channel, NULL, stage_id, "
                "'CREATED', 'bench', created_at FROM ticket WHERE workspace_id = $1",
                workspace_id,
            )
            await conn.execute(
                "UPDATE stage_counter c SET count = t.n "
                "FROM (SELECT stage_id, channel, count(*) AS n "
                "FROM ticket WHERE workspace_id = $1 GROUP BY stage_id, channel) t "
                "WHERE c.stage_id = t.stage_id AND c.channel = t.channel",
                workspace_id,
            )
    finally:
        await conn.close()


async def _raw_update(
    url: str, assignments: str, stage_id: uuid.UUID, now: datetime, workspace_id: uuid.UUID
) -> float:
    """Seconds for one UPDATE of every ticket of the workspace (rolled back: the rows stay)."""
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        transaction = conn.transaction()
        await transaction.start()
        started = time.perf_counter()
        status = await conn.execute(
            f"UPDATE ticket SET {assignments} WHERE workspace_id = $3", stage_id, now, workspace_id
        )
        elapsed = time.perf_counter() - started
        await transaction.rollback()
    finally:
        await conn.close()
    if status.split()[-1] == "0":
        raise RuntimeError("the baseline UPDATE changed no rows")
    return elapsed


async def _vacuum(url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute("VACUUM ANALYZE ticket")
        await conn.execute("VACUUM ANALYZE stage_transition")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def _check(
    workspace_id: uuid.UUID, tickets: int, closed: int, publisher: CountingPublisher
) -> None:
    """The sweep did the whole job: every ticket closed once, counters exact, events handed over."""
    if closed != tickets or publisher.changes != tickets:
        raise RuntimeError(f"closed {closed} and published {publisher.changes} of {tickets}")
    auto_closed = await Stage.get(workspace_id=workspace_id, kind=StageKind.AUTO_CLOSED)
    in_stage = await Ticket.filter(workspace_id=workspace_id, stage_id=auto_closed.id).count()
    [row] = await fetch(
        "SELECT count(*) AS n FROM stage_transition "
        "WHERE workspace_id = ? AND source = 'AUTO_CLOSE'",
        workspace_id,
    )
    counts = await read_counts(workspace_id)
    if not in_stage == row["n"] == counts.by_stage.get(auto_closed.id) == tickets:
        raise RuntimeError(
            f"{in_stage} in Auto closed, {row['n']} transitions, counters {counts.by_stage}"
        )


def _asyncpg_dsn(url: str) -> str:
    return url.replace("asyncpg://", "postgresql://").replace("postgres://", "postgresql://")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK:,} tickets instead of {FULL:,}"
    )
    result = asyncio.run(run(parser.parse_args().quick))
    print(json.dumps(result))
    print(
        f"{result['scenario']}: ours {result['ours']:.3f}s, raw UPDATE {result['baseline']:.3f}s, "
        f"ratio {result['ratio']:.2f} (goal <= {GOAL}): {'PASS' if result['passed'] else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
