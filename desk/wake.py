"""Snooze wake: the sweep that returns tickets to Open when their snooze time has come."""

from __future__ import annotations

from desk.moves import move_rows
from desk.service import Desk
from desk.sweep import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LANES,
    BatchOutcome,
    StopCheck,
    drain,
    load_rules,
    lock_due_rows,
    never_stop,
)
from models import StageKind, TransitionSource


async def wake_due(
    desk: Desk,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    stop: StopCheck = never_stop,
    lanes: int = DEFAULT_LANES,
) -> int:
    """Wake every ticket whose snooze time has come, however long ago; returns how many.

    "Until reply" snoozes have no time and wait for the customer. A woken ticket starts a
    fresh auto-close period (move_rows gives it one, as a move back to an eligible stage).
    """
    return await drain(lambda: _wake_batch(desk, batch_size), batch_size, stop, lanes)


async def _wake_batch(desk: Desk, batch_size: int) -> BatchOutcome:
    async with desk.transaction() as batch:
        now = desk.clock.now()
        rows = await lock_due_rows(
            "stage_kind = ? AND snoozed_until <= ?",
            "snoozed_until",
            [StageKind.SNOOZED.value, now],
            batch_size,
        )
        if not rows:
            return BatchOutcome(0, 0, 0)
        try:
            rules = await load_rules({row.workspace_id for row in rows})
            due = [
                row
                for row in rows
                if (stage := rules.stages.get(row.stage_id)) is not None
                and stage.kind is StageKind.SNOOZED
            ]
            moved = await move_rows(
                due,
                rules.system_stages(StageKind.OPEN),
                TransitionSource.SNOOZE_WAKE,
                now,
                rules.policies,
                batch,
            )
        except Exception as error:
            error.add_note(
                f"snooze-wake batch at {now.isoformat()}: {len(rows)} due tickets from {rows[0].id}"
            )
            raise
    return BatchOutcome(len(rows), len(moved), 0)
