"""Auto-close, rule by rule, with a clock the tests move (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from desk import stages, tickets
from desk.access import Actor
from desk.autoclose import auto_close_due
from desk.clock import ManualClock, from_us, to_us
from desk.service import Desk
from desk.wake import wake_due
from desk.workspaces import SettingsChange, update_settings
from models import (
    Channel,
    MessageAuthor,
    Stage,
    StageKind,
    StageTransition,
    Ticket,
    TransitionSource,
    Workspace,
)
from tests.conftest import admin_actor
from tests.support.sweeps import RecordingPublisher, assert_counts_match_tickets, sources_of

PERIOD = timedelta(days=3)
SECOND = timedelta(seconds=1)


async def new_ticket(desk: Desk, actor: Actor, channel: Channel = Channel.EMAIL) -> Ticket:
    return await tickets.create_ticket(desk, actor, "customer-1", channel)


async def fresh(ticket: Ticket) -> Ticket:
    return await Ticket.get(id=ticket.id)


def due_at(ticket: Ticket) -> datetime | None:
    return None if ticket.auto_close_due_us is None else from_us(ticket.auto_close_due_us)


async def test_an_unanswered_ticket_closes_at_creation_plus_period(
    desk: Desk, clock: ManualClock, actor: Actor, publisher: RecordingPublisher
) -> None:
    created = clock.now()
    ticket = await new_ticket(desk, actor)
    assert due_at(ticket) == created + PERIOD

    clock.set(created + PERIOD - SECOND)
    assert await auto_close_due(desk) == 0
    assert (await fresh(ticket)).stage_kind is StageKind.OPEN

    clock.set(created + PERIOD)
    published_before = len(publisher.published)
    assert await auto_close_due(desk) == 1
    closed = await fresh(ticket)
    assert closed.stage_kind is StageKind.AUTO_CLOSED
    assert (
        closed.stage_id
        == (await Stage.get(workspace_id=actor.workspace_id, kind=StageKind.AUTO_CLOSED)).id
    )
    assert (closed.version, closed.closed_at, closed.auto_close_due_us) == (
        2,
        created + PERIOD,
        None,
    )
    transition = await StageTransition.filter(ticket_id=ticket.id).order_by("-id").first()
    assert transition is not None
    assert (transition.source, transition.actor, transition.at) == (
        TransitionSource.AUTO_CLOSE,
        "system",
        created + PERIOD,
    )
    [event] = publisher.changes(TransitionSource.AUTO_CLOSE)
    assert event["ticketId"] == str(ticket.id)
    assert event["transitionId"] == transition.id
    assert event["version"] == 2
    counts = [p for c, p in publisher.published[published_before:] if c.endswith("counts")]
    assert len(counts) == 1
    await assert_counts_match_tickets(actor.workspace_id)

    clock.advance(PERIOD)
    assert await auto_close_due(desk) == 0
    assert await sources_of(ticket.id) == ["CREATED", "AUTO_CLOSE"]


async def test_a_customer_message_reschedules_to_message_plus_period(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    created = clock.now()
    ticket = await new_ticket(desk, actor)
    clock.advance(timedelta(days=2))
    await tickets.record_message(desk, actor, str(ticket.id), MessageAuthor.CUSTOMER, None)
    assert due_at(await fresh(ticket)) == created + timedelta(days=2) + PERIOD

    clock.set(created + PERIOD + SECOND)
    assert await auto_close_due(desk) == 0
    clock.set(created + timedelta(days=2) + PERIOD)
    assert await auto_close_due(desk) == 1


async def test_the_sweep_rechecks_the_last_customer_message_before_closing(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    """A schedule that missed the last customer message is corrected, not acted on."""
    created = clock.now()
    ticket = await new_ticket(desk, actor)
    message_at = created + timedelta(days=2)
    await Ticket.filter(id=ticket.id).update(
        last_customer_message_at=message_at
    )  # due still at +3d

    clock.set(created + PERIOD + SECOND)
    assert await auto_close_due(desk) == 0
    repaired = await fresh(ticket)
    assert repaired.stage_kind is StageKind.OPEN
    assert repaired.auto_close_anchor_us == to_us(message_at)
    assert due_at(repaired) == message_at + PERIOD

    clock.set(message_at + PERIOD)
    assert await auto_close_due(desk) == 1


async def test_agent_and_bot_messages_do_not_count(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    created = clock.now()
    ticket = await new_ticket(desk, actor)
    for author in (MessageAuthor.AGENT, MessageAuthor.BOT):
        clock.advance(timedelta(days=1))
        await tickets.record_message(desk, actor, str(ticket.id), author, None)
    assert due_at(await fresh(ticket)) == created + PERIOD
    clock.set(created + PERIOD)
    assert await auto_close_due(desk) == 1


async def test_each_channel_closes_after_its_own_period(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    await update_settings(
        desk,
        actor,
        SettingsChange(auto_close_period_by_channel=[(Channel.WHATSAPP, timedelta(hours=1))]),
    )
    created = clock.now()
    whatsapp = await new_ticket(desk, actor, Channel.WHATSAPP)
    email = await new_ticket(desk, actor, Channel.EMAIL)

    clock.set(created + timedelta(hours=1))
    assert await auto_close_due(desk) == 1
    assert (await fresh(whatsapp)).stage_kind is StageKind.AUTO_CLOSED
    assert (await fresh(email)).stage_kind is StageKind.OPEN
    clock.set(created + PERIOD)
    assert await auto_close_due(desk) == 1
    assert (await fresh(email)).stage_kind is StageKind.AUTO_CLOSED


async def test_the_clock_pauses_in_a_stage_without_auto_close(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    waiting = await stages.create_stage(desk, actor, "Waiting on supplier", None, False)
    in_progress = await stages.create_stage(desk, actor, "In progress", None, True)
    open_stage = await Stage.get(workspace_id=actor.workspace_id, kind=StageKind.OPEN)
    created = clock.now()
    paused = await new_ticket(desk, actor)
    running = await new_ticket(desk, actor)
    clock.advance(timedelta(days=1))
    await tickets.change_stage(desk, actor, str(paused.id), str(waiting.id))
    await tickets.change_stage(desk, actor, str(running.id), str(in_progress.id))
    assert due_at(await fresh(paused)) is None

    clock.set(created + PERIOD)  # an eligible intermediate stage keeps the period running
    assert await auto_close_due(desk) == 1
    assert (await fresh(running)).stage_kind is StageKind.AUTO_CLOSED

    clock.set(created + timedelta(days=30))
    assert await auto_close_due(desk) == 0
    back = clock.now()
    await tickets.change_stage(desk, actor, str(paused.id), str(open_stage.id))
    assert due_at(await fresh(paused)) == back + PERIOD
    clock.set(back + PERIOD - SECOND)
    assert await auto_close_due(desk) == 0
    clock.set(back + PERIOD)
    assert await auto_close_due(desk) == 1


async def test_a_snoozed_ticket_is_never_auto_closed(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    until_reply = await new_ticket(desk, actor)
    until_later = await new_ticket(desk, actor)
    await tickets.snooze_ticket(desk, actor, str(until_reply.id), None)
    await tickets.snooze_ticket(desk, actor, str(until_later.id), clock.now() + timedelta(days=300))
    # even with a stale due time left on the row, the re-check refuses to close it
    await Ticket.filter(id=until_reply.id).update(auto_close_due_us=to_us(clock.now()))

    clock.advance(timedelta(days=30))
    assert await auto_close_due(desk) == 0
    for ticket in (until_reply, until_later):
        snoozed = await fresh(ticket)
        assert snoozed.stage_kind is StageKind.SNOOZED
        assert snoozed.auto_close_due_us is None


async def test_a_woken_ticket_gets_a_fresh_period(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    created = clock.now()
    ticket = await new_ticket(desk, actor)
    await tickets.snooze_ticket(desk, actor, str(ticket.id), created + timedelta(days=7))

    clock.set(created + timedelta(days=7))
    assert await wake_due(desk) == 1
    assert await auto_close_due(desk) == 0  # not closed the minute it wakes
    woken = await fresh(woken_ticket := ticket)
    assert woken.stage_kind is StageKind.OPEN
    assert due_at(woken) == created + timedelta(days=7) + PERIOD

    clock.set(created + timedelta(days=7) + PERIOD - SECOND)
    assert await auto_close_due(desk) == 0
    clock.set(created + timedelta(days=7) + PERIOD)
    assert await auto_close_due(desk) == 1
    assert await sources_of(woken_ticket.id) == ["CREATED", "SNOOZE", "SNOOZE_WAKE", "AUTO_CLOSE"]


async def test_a_reopened_ticket_gets_a_fresh_period(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    created = clock.now()
    ticket = await new_ticket(desk, actor)
    clock.set(created + PERIOD)
    assert await auto_close_due(desk) == 1

    reopened_at = created + timedelta(days=5)
    clock.set(reopened_at)
    await tickets.reopen_ticket(desk, actor, str(ticket.id))
    assert due_at(await fresh(ticket)) == reopened_at + PERIOD
    clock.advance(timedelta(hours=1))
    assert await auto_close_due(desk) == 0
    clock.set(reopened_at + PERIOD)
    assert await auto_close_due(desk) == 1
    assert await sources_of(ticket.id) == ["CREATED", "AUTO_CLOSE", "REOPEN", "AUTO_CLOSE"]


async def test_with_the_setting_off_nothing_auto_closes(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    ticket = await new_ticket(desk, actor)
    await update_settings(desk, actor, SettingsChange(auto_close_enabled=False))
    assert (await fresh(ticket)).auto_close_due_us is None
    later = await new_ticket(desk, actor)
    assert later.auto_close_due_us is None

    clock.advance(timedelta(days=30))
    assert await auto_close_due(desk) == 0
    # a due time written before the switch (a stale row) is dropped by the re-check, not acted on
    await Ticket.filter(id=ticket.id).update(auto_close_due_us=to_us(clock.now()))
    assert await auto_close_due(desk) == 0
    stale = await fresh(ticket)
    assert (stale.stage_kind, stale.auto_close_due_us) == (StageKind.OPEN, None)


async def test_a_change_of_period_reschedules_every_eligible_ticket(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    waiting = await stages.create_stage(desk, actor, "Waiting on supplier", None, False)
    created = clock.now()
    open_tickets = [await new_ticket(desk, actor) for _ in range(3)]
    paused = await new_ticket(desk, actor)
    await tickets.change_stage(desk, actor, str(paused.id), str(waiting.id))

    await update_settings(desk, actor, SettingsChange(auto_close_period=timedelta(days=5)))
    for ticket in open_tickets:
        assert due_at(await fresh(ticket)) == created + timedelta(days=5)
    assert (await fresh(paused)).auto_close_due_us is None
    clock.set(created + PERIOD + SECOND)
    assert await auto_close_due(desk) == 0

    await update_settings(desk, actor, SettingsChange(auto_close_period=timedelta(hours=1)))
    assert await auto_close_due(desk) == 3
    assert (await fresh(paused)).stage_kind is StageKind.INTERMEDIATE


async def test_the_sweep_uses_the_current_period_even_if_a_row_was_not_rescheduled(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    created = clock.now()
    ticket = await new_ticket(desk, actor)
    await Workspace.filter(id=actor.workspace_id).update(auto_close_seconds=5 * 86_400)
    clock.set(created + PERIOD)
    assert await auto_close_due(desk) == 0
    assert due_at(await fresh(ticket)) == created + timedelta(days=5)


async def test_catch_up_after_a_four_day_jump(desk: Desk, clock: ManualClock, actor: Actor) -> None:
    """Everything that fell due while nothing ran is handled by the next pass, batch after batch."""
    other = await admin_actor(desk, "Other store")
    start = clock.now()
    due: list[Ticket] = []
    for n in range(23):
        clock.set(start + timedelta(minutes=37 * n))
        due.append(await new_ticket(desk, (actor, other)[n % 2], list(Channel)[n % len(Channel)]))
    snoozed = [await new_ticket(desk, actor) for _ in range(5)]
    for ticket in snoozed:
        await tickets.snooze_ticket(desk, actor, str(ticket.id), clock.now() + timedelta(days=1))
    until_reply = await new_ticket(desk, other)
    await tickets.snooze_ticket(desk, other, str(until_reply.id), None)

    clock.set(start + timedelta(days=4, hours=1))
    assert await wake_due(desk, batch_size=2) == 5
    assert await auto_close_due(desk, batch_size=4) == 23
    for ticket in due:
        assert (await fresh(ticket)).stage_kind is StageKind.AUTO_CLOSED
        assert await sources_of(ticket.id) == ["CREATED", "AUTO_CLOSE"]
    for ticket in snoozed:
        assert (await fresh(ticket)).stage_kind is StageKind.OPEN
    assert (await fresh(until_reply)).stage_kind is StageKind.SNOOZED
    await assert_counts_match_tickets(actor.workspace_id)
    await assert_counts_match_tickets(other.workspace_id)
