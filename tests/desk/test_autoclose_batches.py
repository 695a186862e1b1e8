"""A sweep batch is all or nothing, and never acts on a row that changed since it was read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desk import tickets
from desk.access import Actor
from desk.autoclose import auto_close_due
from desk.clock import ManualClock, to_us
from desk.moves import move_rows
from desk.service import Desk
from desk.sweep import load_rules, lock_due_rows
from models import Channel, Stage, StageKind, Ticket, TransitionSource
from tests.conftest import admin_actor
from tests.support.sweeps import RecordingPublisher, assert_counts_match_tickets, sources_of


async def test_a_row_that_moved_since_it_was_read_is_left_alone(
    desk: Desk, clock: ManualClock, actor: Actor, publisher: RecordingPublisher
) -> None:
    ticket = await tickets.create_ticket(desk, actor, "customer-1", Channel.EMAIL)
    clock.advance(timedelta(days=3))
    async with desk.transaction():
        [stale] = await lock_due_rows(
            "auto_close_due_us <= ?", "auto_close_due_us", [to_us(clock.now())], 10
        )
    closed = await Stage.get(workspace_id=actor.workspace_id, kind=StageKind.CLOSED)
    await tickets.change_stage(desk, actor, str(ticket.id), str(closed.id))

    async with desk.transaction() as batch:
        rules = await load_rules({stale.workspace_id})
        moved = await move_rows(
            [stale],
            rules.system_stages(StageKind.AUTO_CLOSED),
            TransitionSource.AUTO_CLOSE,
            clock.now(),
            rules.policies,
            batch,
        )
    assert moved == []
    assert (await Ticket.get(id=ticket.id)).stage_id == closed.id
    assert await sources_of(ticket.id) == ["CREATED", "MANUAL"]
    assert publisher.changes(TransitionSource.AUTO_CLOSE) == []
    await assert_counts_match_tickets(actor.workspace_id)


async def test_a_failing_batch_changes_nothing_and_publishes_nothing(
    desk: Desk, clock: ManualClock, actor: Actor, publisher: RecordingPublisher
) -> None:
    other = await admin_actor(desk, "Broken store")
    start = clock.now()
    good = await tickets.create_ticket(desk, actor, "customer-1", Channel.EMAIL)
    needs_repair = await tickets.create_ticket(desk, actor, "customer-2", Channel.EMAIL)
    await Ticket.filter(id=needs_repair.id).update(
        last_customer_message_at=start + timedelta(days=1)
    )
    broken = await tickets.create_ticket(desk, other, "customer-3", Channel.EMAIL)
    auto_closed = Stage.filter(workspace_id=other.workspace_id, kind=StageKind.AUTO_CLOSED)
    await auto_closed.update(deleted_at=start)  # the other workspace has nowhere to close to
    published = len(publisher.published)

    clock.set(start + timedelta(days=3))
    with pytest.raises(LookupError) as failure:
        await auto_close_due(desk)
    assert any("auto-close batch" in note for note in getattr(failure.value, "__notes__", []))
    for ticket in (good, needs_repair, broken):
        unchanged = await Ticket.get(id=ticket.id)
        assert (unchanged.stage_kind, unchanged.version) == (StageKind.OPEN, 1)
        assert unchanged.auto_close_due_us == to_us(start + timedelta(days=3))
    assert len(publisher.published) == published

    await auto_closed.update(deleted_at=None)
    assert await auto_close_due(desk) == 2
    assert await sources_of(needs_repair.id) == ["CREATED"]
    await assert_counts_match_tickets(actor.workspace_id)
    await assert_counts_match_tickets(other.workspace_id)
