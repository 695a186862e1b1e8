"""Snooze wake, rule by rule, with a clock the tests move (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from desk import stages, tickets
from desk.access import Actor
from desk.clock import ManualClock
from desk.service import Desk
from desk.wake import wake_due
from models import (
    Channel,
    MessageAuthor,
    Stage,
    StageKind,
    StageTransition,
    Ticket,
    TransitionSource,
)
from tests.conftest import admin_actor
from tests.support.sweeps import RecordingPublisher, assert_counts_match_tickets, sources_of


async def snoozed_ticket(
    desk: Desk, actor: Actor, until: timedelta | None, **options: bool
) -> Ticket:
    ticket = await tickets.create_ticket(desk, actor, "customer-1", Channel.SMS)
    wake_at = None if until is None else desk.clock.now() + until
    return await tickets.snooze_ticket(desk, actor, str(ticket.id), wake_at, **options)


async def fresh(ticket: Ticket) -> Ticket:
    return await Ticket.get(id=ticket.id)


async def test_at_its_time_a_snoozed_ticket_returns_to_open(
    desk: Desk, clock: ManualClock, actor: Actor, publisher: RecordingPublisher
) -> None:
    start = clock.now()
    ticket = await snoozed_ticket(desk, actor, timedelta(hours=5))
    clock.set(start + timedelta(hours=5) - timedelta(microseconds=1))
    assert await wake_due(desk) == 0

    clock.set(start + timedelta(hours=5))
    assert await wake_due(desk) == 1
    woken = await fresh(ticket)
    open_stage = await Stage.get(workspace_id=actor.workspace_id, kind=StageKind.OPEN)
    assert (woken.stage_id, woken.stage_kind, woken.version) == (open_stage.id, StageKind.OPEN, 3)
    assert (woken.snoozed_until, woken.closed_at, woken.period_started_at) == (
        None,
        None,
        clock.now(),
    )
    transition = await StageTransition.filter(ticket_id=ticket.id).order_by("-id").first()
    assert transition is not None
    assert (transition.source, transition.actor, transition.at) == (
        TransitionSource.SNOOZE_WAKE,
        "system",
        clock.now(),
    )
    [event] = publisher.changes(TransitionSource.SNOOZE_WAKE)
    assert (event["ticketId"], event["transitionId"], event["version"]) == (
        str(ticket.id),
        transition.id,
        3,
    )
    await assert_counts_match_tickets(actor.workspace_id)
    assert await wake_due(desk) == 0


async def test_an_until_reply_snooze_waits_for_the_customer(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    ticket = await snoozed_ticket(desk, actor, None)
    clock.advance(timedelta(days=400))
    assert await wake_due(desk) == 0
    assert (await fresh(ticket)).stage_kind is StageKind.SNOOZED
    await tickets.record_message(desk, actor, str(ticket.id), MessageAuthor.CUSTOMER, None)
    assert await sources_of(ticket.id) == ["CREATED", "SNOOZE", "CUSTOMER_REPLY"]


async def test_a_snooze_that_ignores_replies_still_wakes_at_its_time(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    ticket = await snoozed_ticket(desk, actor, timedelta(days=2), wake_on_customer_reply=False)
    clock.advance(timedelta(days=1))
    await tickets.record_message(desk, actor, str(ticket.id), MessageAuthor.CUSTOMER, None)
    assert (await fresh(ticket)).stage_kind is StageKind.SNOOZED
    clock.advance(timedelta(days=1))
    assert await wake_due(desk) == 1
    assert await sources_of(ticket.id) == ["CREATED", "SNOOZE", "SNOOZE_WAKE"]


async def test_a_wake_missed_long_ago_happens_on_the_next_pass(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    """No look-back window: the service may have been down for most of a year."""
    ticket = await snoozed_ticket(desk, actor, timedelta(days=1))
    clock.advance(timedelta(days=300))
    assert await wake_due(desk) == 1
    woken = await fresh(ticket)
    assert woken.stage_kind is StageKind.OPEN
    assert woken.period_started_at == clock.now()


async def test_a_ticket_an_agent_already_moved_is_not_woken(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    in_progress = await stages.create_stage(desk, actor, "In progress", None, True)
    ticket = await snoozed_ticket(desk, actor, timedelta(days=1))
    clock.advance(timedelta(hours=2))
    await tickets.change_stage(desk, actor, str(ticket.id), str(in_progress.id))
    clock.advance(timedelta(days=2))
    assert await wake_due(desk) == 0
    assert (await fresh(ticket)).stage_id == in_progress.id
    assert await sources_of(ticket.id) == ["CREATED", "SNOOZE", "MANUAL"]


async def test_a_new_wake_time_replaces_the_old_one(
    desk: Desk, clock: ManualClock, actor: Actor
) -> None:
    start = clock.now()
    ticket = await snoozed_ticket(desk, actor, timedelta(days=1))
    await tickets.snooze_ticket(desk, actor, str(ticket.id), start + timedelta(days=3))
    clock.set(start + timedelta(days=2))
    assert await wake_due(desk) == 0
    clock.set(start + timedelta(days=3))
    assert await wake_due(desk) == 1


async def test_wakes_drain_in_batches_across_workspaces(
    desk: Desk, clock: ManualClock, actor: Actor, publisher: RecordingPublisher
) -> None:
    other = await admin_actor(desk, "Other store")
    snoozed = [
        await snoozed_ticket(desk, (actor, other)[n % 2], timedelta(minutes=n + 1))
        for n in range(11)
    ]
    clock.advance(timedelta(days=4))
    assert await wake_due(desk, batch_size=3) == 11
    for ticket in snoozed:
        assert await sources_of(ticket.id) == ["CREATED", "SNOOZE", "SNOOZE_WAKE"]
    assert sorted(e["ticketId"] for e in publisher.changes(TransitionSource.SNOOZE_WAKE)) == sorted(
        str(t.id) for t in snoozed
    )
    await assert_counts_match_tickets(actor.workspace_id)
    await assert_counts_match_tickets(other.workspace_id)
