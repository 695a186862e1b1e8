"""changeStage on PostgreSQL: read without locks, written by one guarded statement.

Whatever commits between the read and the write (another move, a customer message, a stage
deleted, new settings, a stage's autoClose flipped) is never overwritten: the write changes
nothing and the move is made again under locks, with what is current.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from desk import tickets
from desk.access import Actor
from desk.clock import ManualClock, to_us
from desk.errors import DeskError, ErrorCode
from desk.move_reads import read_for_move
from desk.rules import period_us
from desk.service import Desk
from desk.stages import StageChange, create_stage, delete_stage, update_stage
from desk.workspaces import SettingsChange, update_settings
from models import Channel, MessageAuthor, Stage, StageKind, StageTransition, Ticket
from tests.support.databases import PostgresDatabase
from tests.support.sweeps import RecordingPublisher, assert_counts_match_tickets, sources_of

Change = Callable[[], Awaitable[object]]


@pytest.fixture
def database_url(postgres_database: PostgresDatabase) -> str:
    """PostgreSQL only: this module overrides the sqlite/postgres parametrisation."""
    asyncio.run(postgres_database.truncate())
    return postgres_database.url


@pytest.fixture
def meanwhile(monkeypatch: pytest.MonkeyPatch) -> list[Change]:
    """Changes to commit after changeStage's read without locks, before its write."""
    pending: list[Change] = []
    real = tickets.read_for_move

    async def read_then_change(*args: object, lock: bool = True, **kwargs: object) -> object:
        read = await real(*args, lock=lock, **kwargs)  # type: ignore[arg-type]
        if not lock and pending:
            await pending.pop()()
        return read

    monkeypatch.setattr(tickets, "read_for_move", read_then_change)
    return pending


async def _stage(desk: Desk, actor: Actor, name: str, auto_close: bool = True) -> Stage:
    return await create_stage(desk, actor, name, None, auto_close)


async def _system(actor: Actor, kind: StageKind) -> Stage:
    return await Stage.get(workspace_id=actor.workspace_id, kind=kind)


async def test_an_uncontended_move_needs_no_transaction(desk: Desk, actor: Actor) -> None:
    ticket = await tickets.create_ticket(desk, actor, "c", Channel.SMS)
    target = await _stage(desk, actor, "Assigned")

    def no_transaction() -> object:
        raise AssertionError("an uncontended move is one read and one write")

    desk.transaction = no_transaction  # type: ignore[method-assign]
    moved = await tickets.change_stage(desk, actor, str(ticket.id), str(target.id), 1)
    assert (moved.stage_id, moved.version) == (target.id, 2)
    assert await sources_of(ticket.id) == ["CREATED", "MANUAL"]
    await assert_counts_match_tickets(actor.workspace_id)


async def _raced_move(
    desk: Desk, actor: Actor, meanwhile: list[Change]
) -> tuple[Ticket, Stage, Stage]:
    """A ticket, and another move of it (to "Theirs") that lands between read and write."""
    ticket = await tickets.create_ticket(desk, actor, "c", Channel.SMS)
    theirs = await _stage(desk, actor, "Theirs")
    ours = await _stage(desk, actor, "Ours")
    meanwhile.append(lambda: tickets.change_stage(desk, actor, str(ticket.id), str(theirs.id)))
    return ticket, theirs, ours


async def test_a_move_meanwhile_is_a_version_conflict(
    desk: Desk, actor: Actor, meanwhile: list[Change], publisher: RecordingPublisher
) -> None:
    ticket, theirs, ours = await _raced_move(desk, actor, meanwhile)

    with pytest.raises(DeskError) as raised:
        await tickets.change_stage(desk, actor, str(ticket.id), str(ours.id), expected_version=1)

    assert raised.value.code is ErrorCode.VERSION_CONFLICT
    after = await Ticket.get(id=ticket.id)
    assert (after.stage_id, after.version) == (theirs.id, 2)
    assert await sources_of(ticket.id) == ["CREATED", "MANUAL"]
    assert [c["toStageId"] for c in publisher.changes()][-1] == str(theirs.id)
    await assert_counts_match_tickets(actor.workspace_id)


async def test_a_move_meanwhile_is_followed_not_overwritten(
    desk: Desk, actor: Actor, meanwhile: list[Change], publisher: RecordingPublisher
) -> None:
    ticket, theirs, ours = await _raced_move(desk, actor, meanwhile)

    moved = await tickets.change_stage(desk, actor, str(ticket.id), str(ours.id))

    assert (moved.stage_id, moved.version) == (ours.id, 3)
    history = await StageTransition.filter(ticket_id=ticket.id).order_by("id")
    assert [(t.from_stage_id, t.to_stage_id) for t in history[1:]] == [
        (ticket.stage_id, theirs.id),
        (theirs.id, ours.id),
    ]
    changes = [c for c in publisher.changes() if c["ticketId"] == str(ticket.id)]
    assert [(c["toStageId"], c["version"]) for c in changes[1:]] == [
        (str(theirs.id), 2),
        (str(ours.id), 3),
    ]
    await assert_counts_match_tickets(actor.workspace_id)


async def test_a_customer_message_meanwhile_keeps_its_auto_close_time(
    desk: Desk, actor: Actor, clock: ManualClock, meanwhile: list[Change]
) -> None:
    ticket = await tickets.create_ticket(desk, actor, "c", Channel.SMS)
    target = await _stage(desk, actor, "Assigned")
    clock.advance(timedelta(hours=5))
    sent = clock.now()
    meanwhile.append(
        lambda: tickets.record_message(desk, actor, str(ticket.id), MessageAuthor.CUSTOMER, sent)
    )

    moved = await tickets.change_stage(desk, actor, str(ticket.id), str(target.id))

    after = await Ticket.get(id=ticket.id)
    assert after.stage_id == target.id == moved.stage_id
    assert after.last_customer_message_at == sent
    assert after.auto_close_anchor_us == to_us(sent)
    assert after.auto_close_due_us == to_us(sent) + period_us(timedelta(days=3))


async def test_a_stage_deleted_meanwhile_is_not_found(
    desk: Desk, actor: Actor, meanwhile: list[Change]
) -> None:
    ticket = await tickets.create_ticket(desk, actor, "c", Channel.SMS)
    doomed = await _stage(desk, actor, "Doomed")
    meanwhile.append(lambda: delete_stage(desk, actor, str(doomed.id)))

    with pytest.raises(DeskError) as raised:
        await tickets.change_stage(desk, actor, str(ticket.id), str(doomed.id))

    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, ["stageId"])
    after = await Ticket.get(id=ticket.id)
    assert (after.stage_id, after.version) == (ticket.stage_id, 1)
    await assert_counts_match_tickets(actor.workspace_id)


async def test_settings_changed_meanwhile_schedule_the_move(
    desk: Desk, actor: Actor, clock: ManualClock, meanwhile: list[Change]
) -> None:
    closed = await _system(actor, StageKind.CLOSED)
    ticket = await tickets.create_ticket(desk, actor, "c", Channel.SMS, stage_id=str(closed.id))
    open_stage = await _system(actor, StageKind.OPEN)
    clock.advance(timedelta(hours=1))
    meanwhile.append(
        lambda: update_settings(desk, actor, SettingsChange(auto_close_period=timedelta(hours=2)))
    )

    moved = await tickets.change_stage(desk, actor, str(ticket.id), str(open_stage.id))

    assert moved.auto_close_due_us == to_us(clock.now()) + period_us(timedelta(hours=2))
    after = await Ticket.get(id=ticket.id)
    assert after.auto_close_due_us == moved.auto_close_due_us
    assert await sources_of(ticket.id) == ["CREATED", "REOPEN"]


async def test_a_target_kept_out_of_auto_close_meanwhile_pauses_the_clock(
    desk: Desk, actor: Actor, meanwhile: list[Change]
) -> None:
    ticket = await tickets.create_ticket(desk, actor, "c", Channel.SMS)
    waiting = await _stage(desk, actor, "Waiting on supplier")
    meanwhile.append(
        lambda: update_stage(desk, actor, str(waiting.id), StageChange(auto_close=False))
    )

    await tickets.change_stage(desk, actor, str(ticket.id), str(waiting.id))

    after = await Ticket.get(id=ticket.id)
    assert after.stage_id == waiting.id
    assert (after.auto_close_anchor_us, after.auto_close_due_us) == (None, None)


@pytest.fixture
async def admin_connection(db: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(db.replace("postgres://", "postgresql://"))
    try:
        yield connection
    finally:
        await connection.close()


async def _wait_for_a_lock_waiter(connection: asyncpg.Connection) -> None:
    for _ in range(500):
        waiting = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the move never waited for the workspace")


async def _ticket_is_free(url: str, ticket_id: uuid.UUID) -> bool:
    probe = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        async with probe.transaction():
            try:
                await probe.execute(
                    "SELECT 1 FROM ticket WHERE id = $1 FOR UPDATE NOWAIT", ticket_id
                )
            except asyncpg.LockNotAvailableError:
                return False
        return True
    finally:
        await probe.close()


@pytest.mark.parametrize("locked", [False, True], ids=["unlocked-write", "locked-read"])
async def test_a_move_waits_for_an_admin_on_the_workspace_before_locking_the_ticket(
    db: str, desk: Desk, actor: Actor, admin_connection: asyncpg.Connection, locked: bool
) -> None:
    """An admin's change locks the workspace, then tickets: a move must not hold its ticket
    while it waits for the workspace, or the two deadlock."""
    ticket = await tickets.create_ticket(desk, actor, "c", Channel.SMS)
    target = await _stage(desk, actor, "Assigned")

    async def locked_read() -> object:
        async with in_transaction():
            return await read_for_move(actor.workspace_id, ticket.id, target.id)

    admin = admin_connection.transaction()
    await admin.start()
    await admin_connection.execute(
        "SELECT 1 FROM workspace WHERE id = $1 FOR UPDATE", actor.workspace_id
    )
    move = asyncio.create_task(
        locked_read()
        if locked
        else tickets.change_stage(desk, actor, str(ticket.id), str(target.id))
    )
    try:
        await _wait_for_a_lock_waiter(admin_connection)
        assert await _ticket_is_free(db, ticket.id)
    finally:
        await admin.rollback()
    await move
    if not locked:
        assert (await Ticket.get(id=ticket.id)).stage_id == target.id


async def test_concurrent_moves_keep_the_counters_exact(desk: Desk, actor: Actor) -> None:
    stages = [await _stage(desk, actor, name) for name in ("A", "B", "C")]
    channels = list(Channel)
    made = [
        await tickets.create_ticket(desk, actor, f"c{n}", channels[n % len(channels)])
        for n in range(24)
    ]
    for round_ in range(4):
        moves = [
            tickets.change_stage(desk, actor, str(t.id), str(stages[(n + round_) % 3].id))
            for n, t in enumerate(made)
        ]
        moves += [  # a few agents racing on the same tickets
            tickets.change_stage(desk, actor, str(t.id), str(stages[(round_ + 2) % 3].id))
            for t in made[:6]
        ]
        await asyncio.gather(*moves)
        await assert_counts_match_tickets(actor.workspace_id)
    for ticket in made:
        history = await StageTransition.filter(ticket_id=ticket.id).order_by("id")
        after = await Ticket.get(id=ticket.id)
        assert len(history) == after.version and history[-1].to_stage_id == after.stage_id
        for earlier, later in itertools.pairwise(history):
            assert later.from_stage_id == earlier.to_stage_id
