"""Workspaces and their settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from tortoise.expressions import F

from desk.access import Actor, Permission
from desk.counters import create_counters
from desk.errors import DeskError, ErrorCode
from desk.rules import SYSTEM_STAGES, has_control_characters, period_us, validate_period
from desk.service import Desk
from desk.sql import fetch, is_postgres
from models import Channel, ClosedReplyPolicy, Role, Stage, Ticket, Workspace


async def create_workspace(desk: Desk, name: str, role: Role = Role.ADMIN) -> tuple[Workspace, str]:
    """A workspace with its four system stages and counters, and one key; returns the secret."""
    from desk.api_keys import issue_key

    trimmed = name.strip()
    if not 1 <= len(trimmed) <= 100:
        raise DeskError(ErrorCode.VALIDATION, "a workspace name has 1 to 100 characters", ["name"])
    if has_control_characters(trimmed):
        raise DeskError(
            ErrorCode.VALIDATION, "a workspace name cannot hold control characters", ["name"]
        )
    now = desk.clock.now()
    async with desk.transaction():
        workspace = await Workspace.create(name=trimmed, created_at=now)
        for position, (stage_name, kind) in enumerate(SYSTEM_STAGES):
            stage = await Stage.create(
                workspace=workspace,
                name=stage_name,
                name_key=stage_name.lower(),
                kind=kind,
                position=position,
                auto_close=True,
                created_at=now,
            )
            await create_counters(workspace.id, stage.id)
        _, secret = await issue_key(desk, workspace, f"{role.value.lower()} key", role)
    return workspace, secret


async def hold_for_moves(workspace_id: uuid.UUID) -> None:
    """The first lock of a transaction that moves or creates tickets: the workspace, shared.

    Changes that lock the workspace row FOR UPDATE before touching its tickets (deleting a
    stage, changing settings or a stage's autoClose) then wait for the moves in flight and hold
    off new ones. Without it a move holding a ticket and waiting for the counts version, and
    such a change holding the workspace and waiting for that ticket, deadlock on PostgreSQL; and
    a move could put a ticket into a stage deleted meanwhile. KEY SHARE does not conflict with
    the counts-version UPDATE, so moves still only queue on each other at their end. (SQLite
    serialises transactions: nothing to do.)
    """
    if is_postgres():
        await fetch("SELECT id FROM workspace WHERE id = ? FOR KEY SHARE", workspace_id)


@dataclass(frozen=True)
class SettingsChange:
    auto_close_enabled: bool | None = None
    auto_close_period: timedelta | None = None
    auto_close_period_by_channel: list[tuple[Channel, timedelta]] | None = None  # replaces the list
    closed_reply_policy: ClosedReplyPolicy | None = None


async def get_settings(actor: Actor) -> Workspace:
    actor.require(Permission.READ)
    return await Workspace.get(id=actor.workspace_id)


async def update_settings(desk: Desk, actor: Actor, change: SettingsChange) -> Workspace:
    actor.require(Permission.ADMINISTER)
    if change.auto_close_period is not None:
        validate_period(change.auto_close_period, ["autoClosePeriod"])
    by_channel: dict[str, int] | None = None
    if change.auto_close_period_by_channel is not None:
        by_channel = {}
        for index, (channel, period) in enumerate(change.auto_close_period_by_channel):
            validate_period(period, ["autoClosePeriodByChannel", str(index), "period"])
            if channel.value in by_channel:
                raise DeskError(
                    ErrorCode.VALIDATION,
                    f"{channel.value} is listed twice: give each channel one period",
                    ["autoClosePeriodByChannel", str(index), "channel"],
                )
            by_channel[channel.value] = int(period.total_seconds())
    async with desk.transaction():
        workspace = await Workspace.select_for_update().get(id=actor.workspace_id)
        schedule_changed = False
        if (
            change.auto_close_enabled is not None
            and change.auto_close_enabled != workspace.auto_close_enabled
        ):
            workspace.auto_close_enabled = change.auto_close_enabled
            schedule_changed = True
        if change.auto_close_period is not None:
            seconds = int(change.auto_close_period.total_seconds())
            schedule_changed |= seconds != workspace.auto_close_seconds
            workspace.auto_close_seconds = seconds
        if by_channel is not None:
            schedule_changed |= by_channel != workspace.auto_close_seconds_by_channel
            workspace.auto_close_seconds_by_channel = by_channel
        if change.closed_reply_policy is not None:
            workspace.closed_reply_policy = change.closed_reply_policy
        await workspace.save()
        if schedule_changed:
            await reschedule_auto_close(workspace)
    return workspace


async def reschedule_auto_close(workspace: Workspace) -> None:
    """Set every eligible ticket's due time from its anchor: one UPDATE per channel."""
    for channel in Channel:
        eligible = Ticket.filter(
            workspace_id=workspace.id, channel=channel, auto_close_anchor_us__isnull=False
        )
        if not workspace.auto_close_enabled:
            await eligible.update(auto_close_due_us=None)
            continue
        seconds = workspace.auto_close_seconds_by_channel.get(
            channel.value, workspace.auto_close_seconds
        )
        await eligible.update(
            auto_close_due_us=F("auto_close_anchor_us") + period_us(timedelta(seconds=seconds))
        )
