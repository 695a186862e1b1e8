"""Auto-close: the sweep that moves inactive tickets to Auto closed, each exactly once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from desk.clock import to_us
from desk.moves import LockedRow, move_rows
from desk.rules import auto_close_eligible, period_us
from desk.service import Desk
from desk.sql import fetch, is_postgres
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
from models import Stage, StageKind, TransitionSource


@dataclass(frozen=True, slots=True)
class Reschedule:
    """The ticket is not due after all: the schedule it should have instead."""

    anchor_us: int | None
    due_us: int | None


def recheck(
    row: LockedRow, stage: Stage | None, period: timedelta | None, now_us: int
) -> Reschedule | None:
    """None when the ticket is due now by the current rules; otherwise its right schedule.

    The seed's rule, applied at the moment of closing: the clock runs from the later of the
    period start and the last customer message, for the channel's current `period` (None:
    the setting is off); it is paused outside eligible stages.
    """
    if (
        stage is None
        or stage.deleted_at is not None
        or not auto_close_eligible(stage.kind, stage.auto_close)
    ):
        return Reschedule(None, None)
    anchor_us = to_us(row.period_started_at)
    if row.last_customer_message_at is not None:
        anchor_us = max(anchor_us, to_us(row.last_customer_message_at))
    if period is None:
        return Reschedule(anchor_us, None)
    due_us = anchor_us + period_us(period)
    if due_us <= now_us:
        return None
    return Reschedule(anchor_us, due_us)


async def auto_close_due(
    desk: Desk,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    stop: StopCheck = never_stop,
    lanes: int = DEFAULT_LANES,
) -> int:
    """Auto-close every ticket due at the desk's current time; returns how many were closed.

    Each batch is one transaction: lock due rows (skipping rows locked elsewhere), re-check
    them, correct the schedule of those not due after all, and move the rest with their
    transitions, counters and events.
    """
    return await drain(lambda: _auto_close_batch(desk, batch_size), batch_size, stop, lanes)


async def _auto_close_batch(desk: Desk, batch_size: int) -> BatchOutcome:
    async with desk.transaction() as batch:
        now = desk.clock.now()
        now_us = to_us(now)
        rows = await lock_due_rows(
            "auto_close_due_us <= ?", "auto_close_due_us", [now_us], batch_size
        )
        if not rows:
            return BatchOutcome(0, 0, 0)
        try:
            rules = await load_rules({row.workspace_id for row in rows})
            due: list[LockedRow] = []
            repairs: list[tuple[uuid.UUID, Reschedule]] = []
            periods: dict[tuple[uuid.UUID, str], timedelta | None] = {}
            for row in rows:
                key = (row.workspace_id, row.channel)
                if key not in periods:
                    policy = rules.policies[row.workspace_id]
                    periods[key] = policy.period(row.channel) if policy.auto_close_enabled else None
                verdict = recheck(row, rules.stages.get(row.stage_id), periods[key], now_us)
                if verdict is None:
                    due.append(row)
                else:
                    repairs.append((row.id, verdict))
            await _reschedule(repairs)
            moved = await move_rows(
                due,
                rules.system_stages(StageKind.AUTO_CLOSED),
                TransitionSource.AUTO_CLOSE,
                now,
                rules.policies,
                batch,
            )
        except Exception as error:
            error.add_note(
                f"auto-close batch at {now.isoformat()}: {len(rows)} due tickets from {rows[0].id}"
            )
            raise
    return BatchOutcome(len(rows), len(moved), len(repairs))


async def _reschedule(repairs: list[tuple[uuid.UUID, Reschedule]]) -> None:
    if not repairs:
        return
    if is_postgres():
        await fetch(
            "UPDATE ticket SET auto_close_anchor_us = r.anchor_us, auto_close_due_us = r.due_us "
            "FROM unnest(?::uuid[], ?::bigint[], ?::bigint[]) AS r(id, anchor_us, due_us) "
            "WHERE ticket.id = r.id",
            [ticket_id for ticket_id, _ in repairs],
            [r.anchor_us for _, r in repairs],
            [r.due_us for _, r in repairs],
        )
        return
    for start in range(0, len(repairs), 500):
        chunk = repairs[start : start + 500]
        values: list[object] = []
        for ticket_id, r in chunk:
            values += [ticket_id, r.anchor_us, r.due_us]
        await fetch(
            f"WITH r(id, anchor_us, due_us) AS (VALUES {', '.join(['(?, ?, ?)'] * len(chunk))}) "
            "UPDATE ticket SET auto_close_anchor_us = r.anchor_us, auto_close_due_us = r.due_us "
            "FROM r WHERE ticket.id = r.id",
            *values,
        )
