"""Exactly once on PostgreSQL: several sweepers, agents and customers on separate connections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import TypeVar

import asyncpg
import pytest
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from desk import tickets
from desk.access import Actor
from desk.autoclose import auto_close_due
from desk.clock import ManualClock
from desk.errors import DeskError, ErrorCode
from desk.service import Desk
from desk.sql import fetch
from desk.workspaces import SettingsChange, update_settings
from models import Channel, MessageAuthor, Stage, StageKind, Ticket, TransitionSource, Workspace
from models.database import activate, open_database
from tests.conftest import admin_actor
from tests.support.databases import PostgresDatabase
from tests.support.sweeps import RecordingPublisher, assert_counts_match_tickets, sources_of

T = TypeVar("T")
PERIOD = timedelta(days=3)


@pytest.fixture
async def pg_url(postgres_database: PostgresDatabase) -> str:
    await postgres_database.truncate()
    return postgres_database.url


@pytest.fixture
async def pools(pg_url: str) -> AsyncIterator[list[TortoiseContext]]:
    """Four independent Tortoise contexts, each with its own connection pool."""
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(open_database(pg_url, pool_size=3)) for _ in range(4)
        ]


def on(ctx: TortoiseContext, work: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
    """Run `work` as a task whose database is `ctx` (its own connections)."""

    async def run() -> T:
        with activate(ctx):
            return await work()

    return asyncio.create_task(run())


async def lock_waiters(url: str, at_least: int) -> None:
    """Wait until `at_least` sessions of the database are blocked on a lock."""
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        for _ in range(500):
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if waiting >= at_least:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"fewer than {at_least} sessions ever waited on a lock")
    finally:
        await conn.close()


async def make_due_tickets(
    ctx: TortoiseContext, desk: Desk, count: int
) -> tuple[list[Actor], list[Ticket]]:
    with activate(ctx):
        actors = [await admin_actor(desk, "Acme"), await admin_actor(desk, "Globex")]
        made = [
            await tickets.create_ticket(
                desk, actors[n % 2], f"customer-{n}", list(Channel)[n % len(Channel)]
            )
            for n in range(count)
        ]
    return actors, made


async def test_three_sweepers_and_an_agent_act_on_each_ticket_exactly_once(
    pools: list[TortoiseContext], clock: ManualClock
) -> None:
    actors, made = await make_due_tickets(pools[0], Desk(clock=clock), 330)
    closed_stage = {
        a.workspace_id: (await _stage(pools[0], a.workspace_id, StageKind.CLOSED)) for a in actors
    }
    by_workspace = {a.workspace_id: a for a in actors}
    clock.advance(PERIOD)
    publishers = [RecordingPublisher() for _ in range(3)]
    agent_wins: list[uuid.UUID] = []

    async def agent() -> None:
        """Closes every third ticket by hand, racing the sweepers, with optimistic concurrency."""
        desk = Desk(clock=clock)
        for ticket in made[::3]:
            try:
                await tickets.change_stage(
                    desk,
                    by_workspace[ticket.workspace_id],
                    str(ticket.id),
                    str(closed_stage[ticket.workspace_id]),
                    expected_version=1,
                )
                agent_wins.append(ticket.id)
            except DeskError as error:
                assert error.code is ErrorCode.VERSION_CONFLICT

    def sweeper(publisher: RecordingPublisher) -> Callable[[], Awaitable[int]]:
        return lambda: auto_close_due(Desk(clock=clock, publisher=publisher), batch_size=20)

    sweepers = [on(ctx, sweeper(p)) for ctx, p in zip(pools[:3], publishers, strict=True)]
    agent_task = on(pools[3], agent)
    closed_counts = await asyncio.gather(*sweepers)
    await agent_task

    assert sum(closed_counts) + len(agent_wins) == len(made)
    assert sum(1 for n in closed_counts if n) >= 2, closed_counts  # they really shared the work
    events = [e["ticketId"] for p in publishers for e in p.changes(TransitionSource.AUTO_CLOSE)]
    assert len(events) == len(set(events)) == sum(closed_counts)
    with activate(pools[0]):
        rows = await fetch(
            "SELECT ticket_id, count(*) AS n FROM stage_transition "
            "WHERE source IN ('AUTO_CLOSE', 'MANUAL') GROUP BY ticket_id"
        )
        assert len(rows) == len(made) and all(row["n"] == 1 for row in rows)
        assert set(events) == {
            str(r["ticket_id"])
            for r in await fetch(
                "SELECT ticket_id FROM stage_transition WHERE source = 'AUTO_CLOSE'"
            )
        }
        assert await Ticket.filter(stage_kind=StageKind.OPEN).count() == 0
        for a in actors:
            await assert_counts_match_tickets(a.workspace_id)


async def test_a_ticket_an_agent_holds_is_skipped_and_then_not_closed(
    pools: list[TortoiseContext], clock: ManualClock, pg_url: str
) -> None:
    desk = Desk(clock=clock)
    (actor, _), (held, other, *_) = await make_due_tickets(pools[0], desk, 4)
    closed = await _stage(pools[0], actor.workspace_id, StageKind.CLOSED)
    clock.advance(PERIOD)
    holding, release = asyncio.Event(), asyncio.Event()

    async def agent_closes_slowly() -> None:
        async with in_transaction():  # the agent's change is in flight until `release`
            await tickets.change_stage(desk, actor, str(held.id), str(closed))
            holding.set()
            await release.wait()

    agent = on(pools[1], agent_closes_slowly)
    await holding.wait()
    sweep = on(pools[0], lambda: auto_close_due(desk))
    await lock_waiters(pg_url, 1)  # past the skipped row, queued behind the agent's counters
    release.set()
    await agent
    assert await sweep == 3
    with activate(pools[0]):
        assert await auto_close_due(desk) == 0
        assert await sources_of(held.id) == ["CREATED", "MANUAL"]
        assert await sources_of(other.id) == ["CREATED", "AUTO_CLOSE"]
        await assert_counts_match_tickets(actor.workspace_id)


async def test_a_ticket_a_customer_is_writing_to_is_not_closed(
    pools: list[TortoiseContext], clock: ManualClock
) -> None:
    desk = Desk(clock=clock)
    (actor, _), (written_to, other) = await make_due_tickets(pools[0], desk, 2)
    clock.advance(PERIOD)
    holding, release = asyncio.Event(), asyncio.Event()

    async def customer_writes_slowly() -> None:
        async with in_transaction():
            await tickets.record_message(
                desk, actor, str(written_to.id), MessageAuthor.CUSTOMER, None
            )
            holding.set()
            await release.wait()

    customer = on(pools[1], customer_writes_slowly)
    await holding.wait()
    sweep = on(pools[0], lambda: auto_close_due(desk))
    try:
        finished, _ = await asyncio.wait({sweep}, timeout=5)
    finally:
        release.set()
    assert sweep in finished, "the sweep waited for the customer's row instead of skipping it"
    assert await sweep == 1
    await customer
    with activate(pools[0]):
        assert await auto_close_due(desk) == 0
        ticket = await Ticket.get(id=written_to.id)
        assert ticket.stage_kind is StageKind.OPEN
        assert await sources_of(written_to.id) == ["CREATED"]
        assert await sources_of(other.id) == ["CREATED", "AUTO_CLOSE"]


async def test_an_agent_move_while_the_sweep_holds_the_ticket_does_not_win_silently(
    pools: list[TortoiseContext], clock: ManualClock, pg_url: str
) -> None:
    desk = Desk(clock=clock)
    (actor, _), (ticket,) = await make_due_tickets(pools[0], desk, 1)
    closed = await _stage(pools[0], actor.workspace_id, StageKind.CLOSED)
    auto_closed = await _stage(pools[0], actor.workspace_id, StageKind.AUTO_CLOSED)
    clock.advance(PERIOD)
    blocker = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://"))
    try:
        pause = blocker.transaction()
        await pause.start()  # holds a counter: the sweep stops midway, holding the ticket
        await blocker.execute(
            "SELECT 1 FROM stage_counter WHERE stage_id = $1 AND channel = $2 FOR UPDATE",
            auto_closed,
            ticket.channel.value,
        )
        sweep = on(pools[0], lambda: auto_close_due(desk))
        await lock_waiters(pg_url, 1)
        move = on(
            pools[1],
            lambda: tickets.change_stage(
                desk, actor, str(ticket.id), str(closed), expected_version=1
            ),
        )
        await lock_waiters(pg_url, 2)  # the agent waits for the ticket the sweep holds
        await pause.rollback()
    finally:
        await blocker.close()
    assert await sweep == 1
    with pytest.raises(DeskError) as conflict:
        await move
    assert conflict.value.code is ErrorCode.VERSION_CONFLICT
    with activate(pools[0]):
        assert await sources_of(ticket.id) == ["CREATED", "AUTO_CLOSE"]
        await assert_counts_match_tickets(actor.workspace_id)


async def test_a_settings_change_in_flight_makes_the_sweep_wait_not_deadlock(
    pools: list[TortoiseContext], clock: ManualClock, pg_url: str
) -> None:
    """An admin's change locks the workspace, then its tickets: the sweep queues behind it."""
    desk = Desk(clock=clock)
    (actor, _), made = await make_due_tickets(pools[0], desk, 4)
    clock.advance(PERIOD)
    holding, release = asyncio.Event(), asyncio.Event()

    async def admin_lengthens_the_period() -> None:
        async with in_transaction():
            await Workspace.select_for_update().get(id=actor.workspace_id)  # as update_settings
            holding.set()
            await release.wait()
            await update_settings(desk, actor, SettingsChange(auto_close_period=timedelta(days=5)))

    admin = on(pools[1], admin_lengthens_the_period)
    await holding.wait()
    sweep = on(pools[0], lambda: auto_close_due(desk))
    await lock_waiters(pg_url, 1)
    release.set()
    await admin
    assert await sweep == 2  # only the other workspace's: this one's period is longer now
    with activate(pools[0]):
        for ticket in made:
            if ticket.workspace_id == actor.workspace_id:
                assert (await Ticket.get(id=ticket.id)).stage_kind is StageKind.OPEN
        await assert_counts_match_tickets(actor.workspace_id)


async def _stage(ctx: TortoiseContext, workspace_id: uuid.UUID, kind: StageKind) -> uuid.UUID:
    with activate(ctx):
        return (await Stage.get(workspace_id=workspace_id, kind=kind)).id
