"""Moving tickets between stages: the one place that writes transitions and counters."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from desk.counters import CountKey, apply_changes
from desk.events import TOPIC_CHANGES, EventBatch
from desk.rules import auto_close_eligible, is_closed, period_for, schedule_auto_close
from models import ClosedReplyPolicy, Stage, StageKind, StageTransition, Ticket, TransitionSource, Workspace

_MOVED_FIELDS = [
    "stage_id",
    "stage_kind",
    "version",
    "updated_at",
    "period_started_at",
    "auto_close_anchor_us",
    "auto_close_due_us",
    "snoozed_until",
    "snoozed_until_reply",
    "wake_on_customer_reply",
    "closed_at",
]


@dataclass(frozen=True)
class Policy:
    """The workspace settings a move needs."""

    auto_close_enabled: bool
    auto_close_seconds: int
    auto_close_seconds_by_channel: dict[str, int]
    closed_reply_policy: ClosedReplyPolicy

    def period(self, channel: str) -> timedelta:
        return period_for(channel, self.auto_close_seconds, self.auto_close_seconds_by_channel)


async def load_policy(workspace_id: uuid.UUID) -> Policy:
    workspace = await Workspace.get(id=workspace_id)
    return Policy(
        auto_close_enabled=workspace.auto_close_enabled,
        auto_close_seconds=workspace.auto_close_seconds,
        auto_close_seconds_by_channel=dict(workspace.auto_close_seconds_by_channel),
        closed_reply_policy=workspace.closed_reply_policy,
    )


@dataclass(frozen=True)
class Snooze:
    until: datetime | None  # None: until the customer replies
    wake_on_customer_reply: bool


def apply_move(
    ticket: Ticket,
    target: Stage,
    now: datetime,
    policy: Policy,
    *,
    snooze: Snooze | None = None,
    fresh_period: bool = False,
) -> None:
    """Change the ticket in memory as the move requires (stage, version, clocks, snooze)."""
    was_eligible = ticket.auto_close_anchor_us is not None
    eligible = auto_close_eligible(target.kind, target.auto_close)
    schedule = schedule_auto_close(
        now=now,
        was_eligible=was_eligible,
        is_eligible=eligible,
        fresh_period=fresh_period or is_closed(ticket.stage_kind),
        period_started_at=ticket.period_started_at,
        last_customer_message_at=ticket.last_customer_message_at,
        enabled=policy.auto_close_enabled,
        period=policy.period(ticket.channel),
    )
    ticket.stage_id = target.id
    ticket.stage_kind = target.kind
    ticket.version += 1
    ticket.updated_at = now
    ticket.period_started_at = schedule.period_started_at
    ticket.auto_close_anchor_us = schedule.anchor_us
    ticket.auto_close_due_us = schedule.due_us
    if target.kind is StageKind.SNOOZED and snooze is not None:
        ticket.snoozed_until = snooze.until
        ticket.snoozed_until_reply = snooze.until is None
        ticket.wake_on_customer_reply = snooze.wake_on_customer_reply or snooze.until is None
    else:
        ticket.snoozed_until = None
        ticket.snoozed_until_reply = False
        ticket.wake_on_customer_reply = True
    if is_closed(target.kind):
        ticket.closed_at = now
    else:
        ticket.closed_at = None


def change_event(ticket: Ticket, transition: StageTransition) -> dict[str, object]:
    return {
        "ticketId": str(ticket.id),
        "transitionId": transition.id,
        "fromStageId": None if transition.from_stage_id is None else str(transition.from_stage_id),
        "toStageId": str(transition.to_stage_id),
        "source": transition.source.value,
        "actor": transition.actor,
        "at": transition.at.isoformat(),
        "version": ticket.version,
    }


async def move_one(
    ticket: Ticket,
    target: Stage,
    source: TransitionSource,
    actor_name: str,
    now: datetime,
    policy: Policy,
    batch: EventBatch,
    *,
    snooze: Snooze | None = None,
    fresh_period: bool = False,
) -> StageTransition:
    """Move one locked ticket: ticket row, transition and counters in the caller's transaction."""
    from_stage_id = ticket.stage_id
    apply_move(ticket, target, now, policy, snooze=snooze, fresh_period=fresh_period)
    await ticket.save(update_fields=_MOVED_FIELDS)
    transition = await StageTransition.create(
        workspace_id=ticket.workspace_id,
        ticket_id=ticket.id,
        channel=ticket.channel,
        from_stage_id=from_stage_id,
        to_stage_id=target.id,
        source=source,
        actor=actor_name,
        at=now,
    )
    deltas: Counter[CountKey] = Counter()
    deltas[(from_stage_id, ticket.channel.value)] -= 1
    deltas[(target.id, ticket.channel.value)] += 1
    await apply_changes(ticket.workspace_id, deltas, batch)
    batch.add(ticket.workspace_id, TOPIC_CHANGES, change_event(ticket, transition))
    return transition


async def move_many(
    tickets: list[Ticket],
    from_stages: dict[uuid.UUID, Stage],
    target: Stage,
    source: TransitionSource,
    actor_name: str,
    now: datetime,
    policy: Policy,
    batch: EventBatch,
    *,
    always_bump: bool = False,
) -> list[StageTransition]:
    """Move many locked tickets with set-based writes and one counts change."""
    if not tickets:
        if always_bump:
            await apply_changes(target.workspace_id, Counter(), batch)
        return []
    deltas: Counter[CountKey] = Counter()
    transitions: list[StageTransition] = []
    for ticket in tickets:
        from_kind = from_stages[ticket.stage_id].kind if ticket.stage_id in from_stages else ticket.stage_kind
        ticket_source = source
        if source is TransitionSource.BULK and is_closed(from_kind):
            ticket_source = TransitionSource.REOPEN
        deltas[(ticket.stage_id, ticket.channel.value)] -= 1
        deltas[(target.id, ticket.channel.value)] += 1
        transitions.append(
            StageTransition(
                workspace_id=ticket.workspace_id,
                ticket_id=ticket.id,
                channel=ticket.channel,
                from_stage_id=ticket.stage_id,
                to_stage_id=target.id,
                source=ticket_source,
                actor=actor_name,
                at=now,
            )
        )
        apply_move(ticket, target, now, policy)
    await Ticket.bulk_update(tickets, fields=_MOVED_FIELDS, batch_size=500)
    await StageTransition.bulk_create(transitions, batch_size=500)
    await _fill_transition_ids(transitions, now)
    await apply_changes(target.workspace_id, deltas, batch)
    for ticket, transition in zip(tickets, transitions, strict=True):
        batch.add(ticket.workspace_id, TOPIC_CHANGES, change_event(ticket, transition))
    return transitions


async def _fill_transition_ids(transitions: list[StageTransition], now: datetime) -> None:
    """bulk_create does not return ids on every backend: read back the newest per ticket."""
    if all(t.id is not None for t in transitions):
        return
    by_ticket = {t.ticket_id: t for t in transitions}
    rows = await StageTransition.filter(ticket_id__in=list(by_ticket), at=now).values_list(
        "ticket_id", "id"
    )
    for ticket_id, transition_id in rows:
        transition = by_ticket[ticket_id]
        if transition.id is None or transition_id > transition.id:
            transition.id = transition_id
