"""Tickets: creation, stage changes, snooze, reopen, bulk moves and messages."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from desk.access import Actor, Permission
from desk.clock import to_us
from desk.counters import CountKey, apply_changes
from desk.errors import DeskError, ErrorCode, invalid, not_found
from desk.events import TOPIC_CHANGES, EventBatch
from desk.ids import parse_id
from desk.move_reads import ReadForMove, read_for_move, unlocked_moves
from desk.moves import Policy, Snooze, change_event, load_policy, move_many, move_one
from desk.one_connection import Fetch, one_connection
from desk.rules import (
    auto_close_eligible,
    check_manual_target,
    has_control_characters,
    is_closed,
    period_us,
    schedule_auto_close,
    transition_source,
    validate_sent_at,
    validate_snooze_until,
)
from desk.service import Desk
from desk.sql import fetch
from desk.stages import live_stage, system_stage
from desk.workspaces import hold_for_moves
from models import (
    Channel,
    ClosedReplyPolicy,
    Message,
    MessageAuthor,
    Stage,
    StageKind,
    StageTransition,
    Ticket,
    TransitionSource,
)

MAX_BULK = 1000


async def get_ticket(actor: Actor, ticket_id: object) -> Ticket | None:
    actor.require(Permission.READ)
    parsed = parse_id(ticket_id)
    if parsed is None:
        return None
    return await Ticket.get_or_none(id=parsed, workspace_id=actor.workspace_id)


async def _locked_ticket(actor: Actor, ticket_id: object) -> Ticket:
    """The ticket, locked; the first thing a transaction that moves a ticket does."""
    await hold_for_moves(actor.workspace_id)
    parsed = parse_id(ticket_id)
    ticket = None
    if parsed is not None:
        ticket = (
            await Ticket.filter(id=parsed, workspace_id=actor.workspace_id)
            .select_for_update()
            .first()
        )
    if ticket is None:
        raise not_found("ticket", ["ticketId"])
    return ticket


def _check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise DeskError(
            ErrorCode.VERSION_CONFLICT,
            f"the ticket is at version {ticket.version}, not {expected_version}: "
            "it changed meanwhile",
            ["expectedVersion"],
        )


def _validate_new_ticket(customer_id: str, subject: str | None) -> str | None:
    if not customer_id.strip() or len(customer_id) > 128:
        raise invalid("customerId has 1 to 128 characters", "customerId")
    if has_control_characters(customer_id):
        raise invalid("customerId cannot hold control characters", "customerId")
    if subject is not None:
        if len(subject) > 200:
            raise invalid("subject has at most 200 characters", "subject")
        if "\x00" in subject:
            raise invalid("subject cannot hold NUL characters", "subject")
        subject = subject.strip() or None
    return subject


async def _insert_ticket(
    workspace_id: uuid.UUID,
    customer_id: str,
    channel: Channel,
    subject: str | None,
    stage: Stage,
    actor_name: str,
    now: datetime,
    policy: Policy,
    batch: EventBatch,
) -> Ticket:
    eligible = auto_close_eligible(stage.kind, stage.auto_close)
    schedule = schedule_auto_close(
        now=now,
        was_eligible=False,
        is_eligible=eligible,
        fresh_period=True,
        period_started_at=now,
        last_customer_message_at=None,
        enabled=policy.auto_close_enabled,
        period=policy.period(channel.value),
    )
    ticket = await Ticket.create(
        workspace_id=workspace_id,
        customer_id=customer_id,
        channel=channel,
        subject=subject,
        stage_id=stage.id,
        stage_kind=stage.kind,
        version=1,
        created_at=now,
        updated_at=now,
        period_started_at=schedule.period_started_at,
        auto_close_anchor_us=schedule.anchor_us,
        auto_close_due_us=schedule.due_us,
        closed_at=now if is_closed(stage.kind) else None,
        stage_entered_at=now,
    )
    transition = await StageTransition.create(
        workspace_id=workspace_id,
        ticket_id=ticket.id,
        channel=channel,
        from_stage_id=None,
        to_stage_id=stage.id,
        source=TransitionSource.CREATED,
        actor=actor_name,
        at=now,
    )
    deltas: Counter[CountKey] = Counter({(stage.id, channel.value): 1})
    await apply_changes(workspace_id, deltas, batch)
    batch.add(workspace_id, TOPIC_CHANGES, change_event(ticket, transition))
    return ticket


async def create_ticket(
    desk: Desk,
    actor: Actor,
    customer_id: str,
    channel: Channel,
    subject: str | None = None,
    stage_id: str | None = None,
) -> Ticket:
    actor.require(Permission.WORK_TICKETS)
    subject = _validate_new_ticket(customer_id, subject)
    async with desk.transaction() as batch:
        await hold_for_moves(actor.workspace_id)
        if stage_id is None:
            stage = await system_stage(actor.workspace_id, StageKind.OPEN)
        else:
            stage = await live_stage(actor.workspace_id, stage_id, ["stageId"])
            check_manual_target(stage.kind)
        policy = await load_policy(actor.workspace_id)
        return await _insert_ticket(
            actor.workspace_id,
            customer_id,
            channel,
            subject,
            stage,
            actor.name,
            desk.clock.now(),
            policy,
            batch,
        )


async def change_stage(
    desk: Desk, actor: Actor, ticket_id: str, stage_id: str, expected_version: int | None = None
) -> Ticket:
    actor.require(Permission.WORK_TICKETS)
    ticket_uuid, stage_uuid = parse_id(ticket_id), parse_id(stage_id)
    if unlocked_moves():  # one read, one write, no transaction: if nothing changed in between
        async with one_connection() as runner, desk.statement() as batch:
            read = await read_for_move(
                actor.workspace_id, ticket_uuid, stage_uuid, lock=False, runner=runner
            )
            if read is not None and await _move_as_read(
                desk, actor, read, expected_version, batch, runner
            ):
                return read.ticket
    async with desk.transaction() as batch:
        read = await read_for_move(actor.workspace_id, ticket_uuid, stage_uuid)
        if read is None:  # the ticket or the stage is missing: say which, as every move does
            ticket = await _locked_ticket(actor, ticket_id)
            _check_version(ticket, expected_version)
            target = await live_stage(actor.workspace_id, stage_id, ["stageId"])
            read = ReadForMove(ticket, target, await load_policy(actor.workspace_id))
        await _move_as_read(desk, actor, read, expected_version, batch)
    return read.ticket


async def _move_as_read(
    desk: Desk,
    actor: Actor,
    read: ReadForMove,
    expected_version: int | None,
    batch: EventBatch,
    runner: Fetch = fetch,
) -> bool:
    """An agent's move of the ticket read; False if read without locks and changed since."""
    ticket, target = read.ticket, read.target
    _check_version(ticket, expected_version)
    if target.id == ticket.stage_id:
        return True
    check_manual_target(target.kind)
    source = transition_source(ticket.stage_kind, TransitionSource.MANUAL)
    moved = await move_one(
        ticket,
        target,
        source,
        actor.name,
        desk.clock.now(),
        read.policy,
        batch,
        if_unchanged_since=read.row_version,
        runner=runner,
    )
    return moved is not None


async def reopen_ticket(
    desk: Desk, actor: Actor, ticket_id: str, expected_version: int | None = None
) -> Ticket:
    actor.require(Permission.WORK_TICKETS)
    async with desk.transaction() as batch:
        ticket = await _locked_ticket(actor, ticket_id)
        _check_version(ticket, expected_version)
        if ticket.stage_kind is StageKind.OPEN:
            return ticket
        if not is_closed(ticket.stage_kind):
            raise DeskError(
                ErrorCode.INVALID_TRANSITION,
                "only a closed or auto-closed ticket can be reopened",
                ["ticketId"],
            )
        open_stage = await system_stage(actor.workspace_id, StageKind.OPEN)
        policy = await load_policy(actor.workspace_id)
        await move_one(
            ticket, open_stage, TransitionSource.REOPEN, actor.name, desk.clock.now(), policy, batch
        )
    return ticket


async def snooze_ticket(
    desk: Desk,
    actor: Actor,
    ticket_id: str,
    until: datetime | None,
    wake_on_customer_reply: bool = True,
    expected_version: int | None = None,
) -> Ticket:
    actor.require(Permission.WORK_TICKETS)
    now = desk.clock.now()
    if until is not None:
        validate_snooze_until(until, now)
    async with desk.transaction() as batch:
        ticket = await _locked_ticket(actor, ticket_id)
        _check_version(ticket, expected_version)
        if is_closed(ticket.stage_kind):
            raise DeskError(
                ErrorCode.INVALID_TRANSITION,
                "a closed ticket cannot be snoozed: reopen it first",
                ["ticketId"],
            )
        snooze = Snooze(until=until, wake_on_customer_reply=wake_on_customer_reply)
        if ticket.stage_kind is StageKind.SNOOZED:
            # already snoozed: a new wake time or reply rule, not a new transition
            ticket.snoozed_until = until
            ticket.snoozed_until_reply = until is None
            ticket.wake_on_customer_reply = wake_on_customer_reply or until is None
            ticket.updated_at = now
            await ticket.save(
                update_fields=[
                    "snoozed_until",
                    "snoozed_until_reply",
                    "wake_on_customer_reply",
                    "updated_at",
                ]
            )
            return ticket
        snoozed = await system_stage(actor.workspace_id, StageKind.SNOOZED)
        policy = await load_policy(actor.workspace_id)
        await move_one(
            ticket, snoozed, TransitionSource.SNOOZE, actor.name, now, policy, batch, snooze=snooze
        )
    return ticket


@dataclass
class BulkResult:
    moved: list[Ticket]
    unchanged: list[str]
    failed: list[tuple[str, ErrorCode, str]]


async def bulk_change_stage(
    desk: Desk, actor: Actor, ticket_ids: list[str], stage_id: str
) -> BulkResult:
    actor.require(Permission.BULK)
    if len(ticket_ids) > MAX_BULK:
        raise DeskError(
            ErrorCode.LIMIT_EXCEEDED,
            f"at most {MAX_BULK} tickets move in one call ({len(ticket_ids)} given)",
            ["ticketIds"],
        )
    result = BulkResult(moved=[], unchanged=[], failed=[])
    parsed: dict[str, uuid.UUID] = {}
    seen: set[uuid.UUID] = set()
    for raw in dict.fromkeys(ticket_ids):
        value = parse_id(raw)
        if value is None:
            result.failed.append((raw, ErrorCode.NOT_FOUND, "ticket not found"))
        elif value not in seen:  # one ticket spelled two ways (e.g. in upper case) moves once
            seen.add(value)
            parsed[raw] = value
    async with desk.transaction() as batch:
        await hold_for_moves(actor.workspace_id)
        target = await live_stage(actor.workspace_id, stage_id, ["stageId"])
        check_manual_target(target.kind)
        found = {
            t.id: t
            for t in await Ticket.filter(
                workspace_id=actor.workspace_id, id__in=list(parsed.values())
            )
            .order_by("id")
            .select_for_update()
        }
        to_move: list[Ticket] = []
        for raw, value in parsed.items():
            ticket = found.get(value)
            if ticket is None:
                result.failed.append((raw, ErrorCode.NOT_FOUND, "ticket not found"))
            elif ticket.stage_id == target.id:
                result.unchanged.append(raw)
            else:
                to_move.append(ticket)
        if to_move:
            stages = {s.id: s for s in await Stage.filter(id__in={t.stage_id for t in to_move})}
            policy = await load_policy(actor.workspace_id)
            await move_many(
                to_move,
                stages,
                target,
                TransitionSource.BULK,
                actor.name,
                desk.clock.now(),
                policy,
                batch,
            )
        result.moved = to_move
    return result


async def record_message(
    desk: Desk, actor: Actor, ticket_id: str, author: MessageAuthor, sent_at: datetime | None
) -> Ticket:
    """Record a message's time; a customer's may wake, reschedule, reopen or start a ticket."""
    actor.require(Permission.WORK_TICKETS)
    now = desk.clock.now()
    sent = sent_at or now
    validate_sent_at(sent, now)
    async with desk.transaction() as batch:
        ticket = await _locked_ticket(actor, ticket_id)
        await Message.create(
            workspace_id=ticket.workspace_id,
            ticket_id=ticket.id,
            author=author,
            sent_at=sent,
            recorded_at=now,
        )
        if author is not MessageAuthor.CUSTOMER:
            return ticket
        policy = await load_policy(actor.workspace_id)
        if is_closed(ticket.stage_kind):
            return await _customer_wrote_on_closed(desk, actor, ticket, sent, now, policy, batch)
        _note_customer_message(ticket, sent, now)
        if ticket.stage_kind is StageKind.SNOOZED and ticket.wake_on_customer_reply:
            await ticket.save(update_fields=["last_customer_message_at", "updated_at"])
            open_stage = await system_stage(actor.workspace_id, StageKind.OPEN)
            await move_one(
                ticket, open_stage, TransitionSource.CUSTOMER_REPLY, actor.name, now, policy, batch
            )
            return ticket
        _push_auto_close(ticket, sent, policy)
        await ticket.save(
            update_fields=[
                "last_customer_message_at",
                "updated_at",
                "auto_close_anchor_us",
                "auto_close_due_us",
            ]
        )
    return ticket


def _push_auto_close(ticket: Ticket, sent: datetime, policy: Policy) -> None:
    """A customer message inside the period moves auto-close to message + period."""
    if ticket.auto_close_anchor_us is None or to_us(sent) <= ticket.auto_close_anchor_us:
        return
    ticket.auto_close_anchor_us = to_us(sent)
    if ticket.auto_close_due_us is not None:
        ticket.auto_close_due_us = ticket.auto_close_anchor_us + period_us(
            policy.period(ticket.channel.value)
        )


def _note_customer_message(ticket: Ticket, sent: datetime, now: datetime) -> None:
    if ticket.last_customer_message_at is None or sent > ticket.last_customer_message_at:
        ticket.last_customer_message_at = sent
    ticket.updated_at = now


async def _customer_wrote_on_closed(
    desk: Desk,
    actor: Actor,
    ticket: Ticket,
    sent: datetime,
    now: datetime,
    policy: Policy,
    batch: EventBatch,
) -> Ticket:
    if policy.closed_reply_policy is ClosedReplyPolicy.NEW_TICKET:
        open_stage = await system_stage(actor.workspace_id, StageKind.OPEN)
        new_ticket = await _insert_ticket(
            ticket.workspace_id,
            ticket.customer_id,
            ticket.channel,
            ticket.subject,
            open_stage,
            actor.name,
            now,
            policy,
            batch,
        )
        await Message.create(
            workspace_id=ticket.workspace_id,
            ticket_id=new_ticket.id,
            author=MessageAuthor.CUSTOMER,
            sent_at=sent,
            recorded_at=now,
        )
        _note_customer_message(new_ticket, sent, now)
        _push_auto_close(new_ticket, sent, policy)
        await new_ticket.save(
            update_fields=[
                "last_customer_message_at",
                "updated_at",
                "auto_close_anchor_us",
                "auto_close_due_us",
            ]
        )
        return new_ticket
    _note_customer_message(ticket, sent, now)
    await ticket.save(update_fields=["last_customer_message_at", "updated_at"])
    if policy.closed_reply_policy is ClosedReplyPolicy.REOPEN:
        open_stage = await system_stage(actor.workspace_id, StageKind.OPEN)
        await move_one(ticket, open_stage, TransitionSource.REOPEN, actor.name, now, policy, batch)
    return ticket


async def ticket_history(ticket: Ticket) -> list[StageTransition]:
    return await StageTransition.filter(ticket_id=ticket.id).order_by("id")
