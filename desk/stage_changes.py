"""The transitions a stageChanges subscriber is shown, with their tickets."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from tortoise.expressions import Q

from desk.access import Actor, Permission
from desk.errors import not_found
from desk.ids import parse_id
from models import Stage, StageTransition, Ticket

Change = tuple[Ticket, StageTransition]


async def watched_stage(actor: Actor, stage_id: object | None) -> uuid.UUID | None:
    """The stage a subscriber filters on (deleted ones too); NOT_FOUND if not the caller's."""
    actor.require(Permission.READ)
    if stage_id is None:
        return None
    parsed = parse_id(stage_id)
    if parsed is None or not await Stage.exists(id=parsed, workspace_id=actor.workspace_id):
        raise not_found("stage", ["stageId"])
    return parsed


async def last_transition_id(workspace_id: uuid.UUID) -> int:
    ids = await (
        StageTransition.filter(workspace_id=workspace_id)
        .order_by("-id")
        .limit(1)
        .values_list("id", flat=True)
    )
    return int(ids[0]) if ids else 0  # type: ignore[call-overload]


async def _with_tickets(transitions: list[StageTransition]) -> list[Change]:
    tickets = {t.id: t for t in await Ticket.filter(id__in={t.ticket_id for t in transitions})}
    return [(tickets[t.ticket_id], t) for t in transitions if t.ticket_id in tickets]


async def changes_by_ids(workspace_id: uuid.UUID, transition_ids: Iterable[int]) -> list[Change]:
    """The workspace's transitions among these ids, oldest first, each with its ticket."""
    wanted = list(transition_ids)
    if not wanted:
        return []
    transitions = await StageTransition.filter(workspace_id=workspace_id, id__in=wanted).order_by(
        "id"
    )
    return await _with_tickets(transitions)


async def changes_after(
    workspace_id: uuid.UUID, after_id: int, stage_id: uuid.UUID | None, limit: int
) -> list[Change]:
    """Transitions with an id above ``after_id`` (into or out of the stage, if given)."""
    query = StageTransition.filter(workspace_id=workspace_id, id__gt=after_id)
    if stage_id is not None:
        query = query.filter(Q(from_stage_id=stage_id) | Q(to_stage_id=stage_id))
    return await _with_tickets(await query.order_by("id").limit(limit))
