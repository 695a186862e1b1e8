"""Each transition stores how long its ticket stayed in the stage it left (stay_us).

Every writer fills it as it writes (create, single and bulk moves, the sweeps' set-based
moves, stage deletion), and migration 0002 fills it for a log written before it existed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from desk import tickets
from desk.access import Actor
from desk.autoclose import auto_close_due
from desk.clock import ManualClock, to_us
from desk.service import Desk
from desk.sql import fetch
from desk.stages import create_stage, delete_stage
from desk.wake import wake_due
from models import Channel, Stage, StageKind, StageTransition, Ticket
from models.database import APP_LABEL, open_database, tortoise_config
from tests.conftest import admin_actor
from tests.support.databases import PG_ADMIN_DSN


async def _assert_stays_follow_the_log(workspace_id: uuid.UUID) -> None:
    """stay_us is the time since the ticket's previous transition; stage_entered_at its last."""
    log = await StageTransition.filter(workspace_id=workspace_id).order_by("ticket_id", "id")
    assert log
    previous: StageTransition | None = None
    for transition in log:
        if previous is None or previous.ticket_id != transition.ticket_id:
            assert transition.from_stage_id is None and transition.stay_us is None
        else:
            assert transition.stay_us == to_us(transition.at) - to_us(previous.at)
        previous = transition
    for ticket in await Ticket.filter(workspace_id=workspace_id):
        last = max((t for t in log if t.ticket_id == ticket.id), key=lambda t: t.id)
        assert ticket.stage_entered_at == last.at


async def test_every_writer_records_the_stay(db: str, clock: ManualClock) -> None:
    desk = Desk(clock=clock)
    actor: Actor = await admin_actor(desk)
    start = clock.now()
    first = await tickets.create_ticket(desk, actor, "customer-1", Channel.EMAIL)
    second = await tickets.create_ticket(desk, actor, "customer-2", Channel.SMS)
    created = await Ticket.get(id=first.id)
    assert created.stage_entered_at == start

    waiting = await create_stage(desk, actor, "Waiting", None, True)
    clock.advance(timedelta(minutes=3, seconds=7, microseconds=250_001))
    await tickets.change_stage(desk, actor, str(first.id), str(waiting.id))  # move_one
    [move] = await StageTransition.filter(ticket_id=first.id, from_stage_id__not_isnull=True)
    assert move.stay_us == 187_250_001

    clock.advance(timedelta(hours=2))
    closed = await Stage.get(workspace_id=actor.workspace_id, kind=StageKind.CLOSED)
    await tickets.bulk_change_stage(desk, actor, [str(first.id), str(second.id)], str(closed.id))
    clock.advance(timedelta(seconds=41))
    await tickets.reopen_ticket(desk, actor, str(second.id))
    clock.advance(timedelta(minutes=5))
    until = clock.now() + timedelta(hours=1)
    await tickets.snooze_ticket(desk, actor, str(second.id), until)
    clock.set(until + timedelta(seconds=1))
    assert await wake_due(desk) == 1  # move_rows
    clock.advance(timedelta(days=4))
    assert await auto_close_due(desk) == 1  # move_rows

    clock.advance(timedelta(minutes=1))
    await tickets.reopen_ticket(desk, actor, str(first.id))
    await tickets.change_stage(desk, actor, str(first.id), str(waiting.id))
    clock.advance(timedelta(seconds=9))
    await delete_stage(desk, actor, str(waiting.id))  # moves its tickets (move_many)

    await _assert_stays_follow_the_log(actor.workspace_id)
    log = await StageTransition.filter(workspace_id=actor.workspace_id)
    every_writer = {"CREATED", "MANUAL", "BULK", "REOPEN", "SNOOZE", "SNOOZE_WAKE"}
    assert {t.source.value for t in log} >= every_writer | {"AUTO_CLOSE", "STAGE_DELETED"}


@pytest.fixture(params=("sqlite", "postgres"))
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables, to migrate step by step."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'empty.db'}"
        return
    name = f"ts_migrate_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN.replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _migrate_to(database_url: str, name: str | None) -> None:
    async with open_database(database_url) as ctx:
        connection = ctx.db()
        config = {
            label: {**app, "default_connection": connection.connection_name}
            for label, app in tortoise_config(database_url)["apps"].items()
        }
        targets = None if name is None else [MigrationTarget(APP_LABEL, name)]
        await MigrationExecutor(connection, config).migrate(targets)


_T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
# (ticket, seconds after _T0) in insertion order: ids interleave the two tickets' histories
_LOG = [(0, 0.0), (1, 5.0), (0, 90.5), (1, 3600.25), (0, 86_400.0), (0, 86_400.001)]


async def test_the_migration_fills_stays_for_an_existing_log(empty_database: str) -> None:
    await _migrate_to(empty_database, "0001_initial")
    async with open_database(empty_database):
        actor = await admin_actor(Desk(clock=ManualClock(_T0)))
        stages = [
            s.id for s in await Stage.filter(workspace_id=actor.workspace_id).order_by("position")
        ]
        ticket_ids = [uuid.uuid4(), uuid.uuid4()]
        for ticket_id in ticket_ids:
            await fetch(
                "INSERT INTO ticket (id, workspace_id, customer_id, channel, stage_id, stage_kind, "
                "version, created_at, updated_at, period_started_at, snoozed_until_reply, "
                "wake_on_customer_reply) VALUES (?, ?, 'c', 'EMAIL', ?, 'OPEN', 1, ?, ?, ?, "
                "FALSE, TRUE)",
                ticket_id,
                actor.workspace_id,
                stages[0],
                _T0,
                _T0,
                _T0,
            )
        current: dict[int, uuid.UUID | None] = {0: None, 1: None}
        for n, (ticket, seconds) in enumerate(_LOG):
            to_stage = stages[n % len(stages)]
            await fetch(
                "INSERT INTO stage_transition (workspace_id, ticket_id, channel, from_stage_id, "
                "to_stage_id, source, actor, at) VALUES (?, ?, 'EMAIL', ?, ?, ?, 'old', ?)",
                actor.workspace_id,
                ticket_ids[ticket],
                current[ticket],
                to_stage,
                "CREATED" if current[ticket] is None else "MANUAL",
                _T0 + timedelta(seconds=seconds),
            )
            current[ticket] = to_stage

    await _migrate_to(empty_database, None)
    async with open_database(empty_database):
        stays = await StageTransition.all().order_by("id").values_list("stay_us", flat=True)
        assert stays == [None, None, 90_500_000, 3_595_250_000, 86_309_500_000, 1_000]
        await _assert_stays_follow_the_log(actor.workspace_id)
