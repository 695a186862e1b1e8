"""Stages: the four system stages and the admins' intermediate ones."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from desk.access import Actor, Permission
from desk.clock import to_us
from desk.counters import apply_changes, create_counters
from desk.errors import DeskError, ErrorCode, not_found
from desk.events import TOPIC_STAGES
from desk.ids import parse_id
from desk.moves import load_policy, move_many
from desk.rules import MAX_INTERMEDIATE_STAGES, SYSTEM_KINDS, normalise_stage_name
from desk.service import Desk
from desk.workspaces import reschedule_auto_close
from models import Stage, StageKind, Ticket, TransitionSource, Workspace

FIRST_INTERMEDIATE_POSITION = 4


async def list_stages(actor: Actor, include_deleted: bool = False) -> list[Stage]:
    actor.require(Permission.READ)
    query = Stage.filter(workspace_id=actor.workspace_id)
    if not include_deleted:
        query = query.filter(deleted_at__isnull=True)
    return await query.order_by("position", "created_at")


async def live_stage(workspace_id: uuid.UUID, stage_id: object, field: list[str]) -> Stage:
    parsed = parse_id(stage_id)
    stage = None
    if parsed is not None:
        stage = await Stage.get_or_none(id=parsed, workspace_id=workspace_id, deleted_at=None)
    if stage is None:
        raise not_found("stage", field)
    return stage


async def system_stage(workspace_id: uuid.UUID, kind: StageKind) -> Stage:
    return await Stage.get(workspace_id=workspace_id, kind=kind, deleted_at=None)


async def _check_unique_name(
    workspace_id: uuid.UUID, name: str, except_id: uuid.UUID | None
) -> None:
    clash = Stage.filter(workspace_id=workspace_id, name_key=name.lower(), deleted_at=None)
    if except_id is not None:
        clash = clash.exclude(id=except_id)
    if await clash.exists():
        raise DeskError(
            ErrorCode.DUPLICATE_NAME, f"a stage named {name!r} exists already", ["name"]
        )


async def _renumber(workspace_id: uuid.UUID, moving: Stage | None, position: int | None) -> None:
    """Keep intermediate positions contiguous after the system stages, placing `moving`."""
    others = [
        s
        for s in await Stage.filter(
            workspace_id=workspace_id, kind=StageKind.INTERMEDIATE, deleted_at=None
        ).order_by("position", "created_at")
        if moving is None or s.id != moving.id
    ]
    if moving is not None:
        index = len(others) if position is None else max(0, position - FIRST_INTERMEDIATE_POSITION)
        others.insert(min(index, len(others)), moving)
    for offset, stage in enumerate(others):
        wanted = FIRST_INTERMEDIATE_POSITION + offset
        if stage.position != wanted:
            stage.position = wanted
            await stage.save(update_fields=["position"])


def _check_position(position: int | None) -> None:
    if position is not None and position < FIRST_INTERMEDIATE_POSITION:
        raise DeskError(
            ErrorCode.VALIDATION,
            f"system stages come first: an intermediate stage's position is at least "
            f"{FIRST_INTERMEDIATE_POSITION}",
            ["position"],
        )


async def create_stage(
    desk: Desk, actor: Actor, name: str, position: int | None, auto_close: bool
) -> Stage:
    actor.require(Permission.ADMINISTER)
    clean = normalise_stage_name(name, ["name"])
    _check_position(position)
    async with desk.transaction() as batch:
        await Workspace.select_for_update().get(id=actor.workspace_id)
        await _check_unique_name(actor.workspace_id, clean, None)
        live = await Stage.filter(
            workspace_id=actor.workspace_id, kind=StageKind.INTERMEDIATE, deleted_at=None
        ).count()
        if live >= MAX_INTERMEDIATE_STAGES:
            raise DeskError(
                ErrorCode.LIMIT_EXCEEDED,
                f"a workspace has at most {MAX_INTERMEDIATE_STAGES} intermediate stages",
                ["name"],
            )
        try:
            stage = await Stage.create(
                workspace_id=actor.workspace_id,
                name=clean,
                name_key=clean.lower(),
                kind=StageKind.INTERMEDIATE,
                position=FIRST_INTERMEDIATE_POSITION + live,
                auto_close=auto_close,
                created_at=desk.clock.now(),
            )
        except IntegrityError:
            raise DeskError(
                ErrorCode.DUPLICATE_NAME, f"a stage named {clean!r} exists already", ["name"]
            ) from None
        await create_counters(actor.workspace_id, stage.id)
        await _renumber(actor.workspace_id, stage, position)
        await apply_changes(actor.workspace_id, Counter(), batch)  # a new row in the counts
        batch.add(actor.workspace_id, TOPIC_STAGES, {"stageId": str(stage.id), "change": "created"})
    await stage.refresh_from_db()
    return stage


@dataclass(frozen=True)
class StageChange:
    name: str | None = None
    position: int | None = None
    auto_close: bool | None = None


async def update_stage(desk: Desk, actor: Actor, stage_id: str, change: StageChange) -> Stage:
    actor.require(Permission.ADMINISTER)
    clean = None if change.name is None else normalise_stage_name(change.name, ["name"])
    _check_position(change.position)
    async with desk.transaction() as batch:
        workspace = await Workspace.select_for_update().get(id=actor.workspace_id)
        stage = await live_stage(actor.workspace_id, stage_id, ["id"])
        if stage.kind in SYSTEM_KINDS:
            touches = (
                (clean is not None and clean != stage.name)
                or change.position is not None
                or change.auto_close is False
            )
            if touches:
                raise DeskError(
                    ErrorCode.SYSTEM_STAGE,
                    f"the system stage {stage.name!r} cannot be renamed, moved "
                    "or kept out of auto-close",
                    ["id"],
                )
            return stage
        renamed = clean is not None and clean != stage.name
        if clean is not None and renamed:
            await _check_unique_name(actor.workspace_id, clean, stage.id)
            stage.name = clean
            stage.name_key = clean.lower()
        flag_changed = change.auto_close is not None and change.auto_close != stage.auto_close
        if change.auto_close is not None:
            stage.auto_close = change.auto_close
        try:
            await stage.save(update_fields=["name", "name_key", "auto_close"])
        except IntegrityError:
            raise DeskError(
                ErrorCode.DUPLICATE_NAME, f"a stage named {clean!r} exists already", ["name"]
            ) from None
        if change.position is not None:
            await _renumber(actor.workspace_id, stage, change.position)
        if flag_changed:
            await _reschedule_stage(desk, workspace, stage)
        if renamed or change.position is not None or flag_changed:
            # the counts show each stage's name, order and autoClose
            await apply_changes(actor.workspace_id, Counter(), batch)
        batch.add(actor.workspace_id, TOPIC_STAGES, {"stageId": str(stage.id), "change": "updated"})
    await stage.refresh_from_db()
    return stage


async def _reschedule_stage(desk: Desk, workspace: Workspace, stage: Stage) -> None:
    """The stage's autoClose flag flipped: pause or restart the clocks of its tickets."""
    in_stage = Ticket.filter(workspace_id=workspace.id, stage_id=stage.id)
    if not stage.auto_close:
        await in_stage.update(auto_close_anchor_us=None, auto_close_due_us=None)
        return
    now = desk.clock.now()
    await in_stage.update(period_started_at=now, auto_close_anchor_us=to_us(now))
    for ticket in await in_stage.filter(last_customer_message_at__gt=now):
        assert ticket.last_customer_message_at is not None
        ticket.auto_close_anchor_us = to_us(ticket.last_customer_message_at)
        await ticket.save(update_fields=["auto_close_anchor_us"])
    await reschedule_auto_close(workspace)


async def delete_stage(desk: Desk, actor: Actor, stage_id: str) -> tuple[uuid.UUID, int]:
    """Soft-delete an intermediate stage, moving its tickets to Open in the same transaction."""
    actor.require(Permission.ADMINISTER)
    async with desk.transaction() as batch:
        await Workspace.select_for_update().get(id=actor.workspace_id)
        stage = await live_stage(actor.workspace_id, stage_id, ["id"])
        if stage.kind in SYSTEM_KINDS:
            raise DeskError(
                ErrorCode.SYSTEM_STAGE, f"the system stage {stage.name!r} cannot be deleted", ["id"]
            )
        open_stage = await system_stage(actor.workspace_id, StageKind.OPEN)
        policy = await load_policy(actor.workspace_id)
        tickets = await Ticket.filter(
            workspace_id=actor.workspace_id, stage_id=stage.id
        ).select_for_update()
        await move_many(
            tickets,
            {stage.id: stage},
            open_stage,
            TransitionSource.STAGE_DELETED,
            actor.name,
            desk.clock.now(),
            policy,
            batch,
            always_bump=True,
        )
        stage.deleted_at = desk.clock.now()
        stage.name_key = None
        await stage.save(update_fields=["deleted_at", "name_key"])
        await _renumber(actor.workspace_id, None, None)
        batch.add(actor.workspace_id, TOPIC_STAGES, {"stageId": str(stage.id), "change": "deleted"})
    return stage.id, len(tickets)
