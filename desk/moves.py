"""Moving tickets between stages: the one place that writes transitions and counters."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from desk.access import SYSTEM_ACTOR_NAME
from desk.clock import to_us
from desk.counters import (
    CountKey,
    apply_changes,
    bump_and_count_postgres,
    counter_changes,
    note_counts,
)
from desk.events import TOPIC_CHANGES, EventBatch
from desk.one_connection import Fetch
from desk.rules import auto_close_eligible, is_closed, period_for, schedule_auto_close
from desk.sql import fetch, is_postgres
from models import (
    ClosedReplyPolicy,
    Stage,
    StageKind,
    StageTransition,
    Ticket,
    TransitionSource,
    Workspace,
)

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
    "stage_entered_at",
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
    return policy_of(await Workspace.get(id=workspace_id))


def policy_of(workspace: Workspace) -> Policy:
    return Policy(
        auto_close_enabled=workspace.auto_close_enabled,
        auto_close_seconds=workspace.auto_close_seconds,
        auto_close_seconds_by_channel=dict(workspace.auto_close_seconds_by_channel),
        closed_reply_policy=workspace.closed_reply_policy,
    )


class StageRef(Protocol):
    """What a move needs of its target stage (a Stage, or its columns read with the ticket)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def kind(self) -> StageKind: ...

    @property
    def auto_close(self) -> bool: ...


@dataclass(frozen=True)
class Snooze:
    until: datetime | None  # None: until the customer replies
    wake_on_customer_reply: bool


def apply_move(
    ticket: Ticket,
    target: StageRef,
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
    ticket.stage_entered_at = now
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


def stay_us(entered_at: datetime | None, now: datetime) -> int | None:
    """Microseconds from entering a stage to leaving it (None when the entry is unknown)."""
    return None if entered_at is None else to_us(now) - to_us(entered_at)


def change_event(ticket: Ticket, transition: StageTransition) -> dict[str, object]:
    return transition_event(
        ticket_id=str(ticket.id),
        transition_id=transition.id,
        from_stage_id=None if transition.from_stage_id is None else str(transition.from_stage_id),
        to_stage_id=str(transition.to_stage_id),
        source=transition.source.value,
        actor=transition.actor,
        at=transition.at.isoformat(),
        version=ticket.version,
    )


def transition_event(
    *,
    ticket_id: str,
    transition_id: int,
    from_stage_id: str | None,
    to_stage_id: str,
    source: str,
    actor: str,
    at: str,
    version: int,
) -> dict[str, object]:
    """The payload of a change event, from values already in their wire form."""
    return {
        "ticketId": ticket_id,
        "transitionId": transition_id,
        "fromStageId": from_stage_id,
        "toStageId": to_stage_id,
        "source": source,
        "actor": actor,
        "at": at,
        "version": version,
    }


async def move_one(
    ticket: Ticket,
    target: StageRef,
    source: TransitionSource,
    actor_name: str,
    now: datetime,
    policy: Policy,
    batch: EventBatch,
    *,
    snooze: Snooze | None = None,
    fresh_period: bool = False,
    if_unchanged_since: int | None = None,
    runner: Fetch = fetch,
) -> int | None:
    """Move one ticket: ticket row, transition and counters; returns the transition's id.

    The ticket is locked by the caller's transaction; or, with `if_unchanged_since` (the
    row version, xmin, of the ticket read without locks; PostgreSQL only), the move applies
    only if the ticket is still at that version and the workspace's settings and the target
    stage are still `policy` and `target`: otherwise it changes nothing (not even in the
    database, though the ticket in memory was changed) and returns None. On PostgreSQL the
    move is one statement, so it needs no transaction of its own when unlocked; `runner`
    runs it (by default on the current connection or transaction).
    """
    from_stage_id = ticket.stage_id
    stay = stay_us(ticket.stage_entered_at, now)
    apply_move(ticket, target, now, policy, snooze=snooze, fresh_period=fresh_period)
    recorded = [source.value, actor_name, now, stay]  # the transition's columns after its stages
    if if_unchanged_since is not None or is_postgres():
        held: list[object] = []
        if if_unchanged_since is not None:
            held = [
                ticket.workspace_id,
                target.id,
                target.auto_close,
                policy.auto_close_enabled,
                policy.auto_close_seconds,
                json.dumps(policy.auto_close_seconds_by_channel),
            ]
        transition_id = await _write_one_postgres(
            ticket, from_stage_id, recorded, held, if_unchanged_since, batch, runner
        )
        if transition_id is None:
            return None
    else:
        transition_id = await _write_one_sqlite(ticket, from_stage_id, recorded, batch)
    batch.add(
        ticket.workspace_id,
        TOPIC_CHANGES,
        transition_event(
            ticket_id=str(ticket.id),
            transition_id=transition_id,
            from_stage_id=str(from_stage_id),
            to_stage_id=str(target.id),
            source=source.value,
            actor=actor_name,
            at=now.isoformat(),
            version=ticket.version,
        ),
    )
    return transition_id


def _moved_values(ticket: Ticket) -> list[object]:
    values = [getattr(ticket, name) for name in _MOVED_FIELDS]
    values[_MOVED_FIELDS.index("stage_kind")] = ticket.stage_kind.value
    return values


def _deltas(ticket: Ticket, from_stage_id: uuid.UUID) -> Counter[CountKey]:
    channel = ticket.channel.value
    return Counter({(from_stage_id, channel): -1, (ticket.stage_id, channel): 1})


async def _write_one_postgres(
    ticket: Ticket,
    from_stage_id: uuid.UUID,
    recorded: list[object],
    held: list[object],
    row_version: int | None,
    batch: EventBatch,
    runner: Fetch,
) -> int | None:
    rows = await runner(
        _MOVE_ONE_GUARDED_POSTGRES if held else _MOVE_ONE_POSTGRES,
        *held,
        *_moved_values(ticket),
        ticket.id,
        *([] if row_version is None else [row_version]),
        ticket.workspace_id,
        *counter_changes(_deltas(ticket, from_stage_id)),
        from_stage_id,
        *recorded,
    )
    if rows[0]["transition_id"] is None:
        return None
    note_counts(ticket.workspace_id, int(rows[0]["counts_version"]), batch)
    return int(rows[0]["transition_id"])


async def _write_one_sqlite(
    ticket: Ticket, from_stage_id: uuid.UUID, recorded: list[object], batch: EventBatch
) -> int:
    await fetch(_UPDATE_MOVED, *_moved_values(ticket), ticket.id)
    rows = await fetch(
        _INSERT_TRANSITION,
        ticket.workspace_id,
        ticket.id,
        ticket.channel.value,
        from_stage_id,
        ticket.stage_id,
        *recorded,
    )
    await apply_changes(ticket.workspace_id, _deltas(ticket, from_stage_id), batch)
    return int(rows[0]["id"])


_UPDATE_MOVED = (
    f"UPDATE ticket SET {', '.join(f'{name} = ?' for name in _MOVED_FIELDS)} WHERE id = ?"
)
_TRANSITION_COLUMNS = (
    "workspace_id, ticket_id, channel, from_stage_id, to_stage_id, source, actor, at, stay_us"
)
_INSERT_TRANSITION = (
    f"INSERT INTO stage_transition ({_TRANSITION_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)


def _move_one_postgres(guarded: bool) -> str:
    """The ticket, then the counts version and counters (workspace row first), then the
    transition: each step only if the one before it changed a row.

    Guarded, the workspace and the target stage are share-locked first (as hold_for_moves
    and the sweeps do, so an admin's change holding the workspace is waited for before the
    ticket is locked) and must still hold the settings and stage the move was planned with;
    a lock that waited reads the latest version of its row. The ticket must still be at the
    row version it was read at.
    """
    held = ""
    guard = ""
    if guarded:
        held = (
            "held AS (SELECT w.id FROM workspace w JOIN stage s ON s.workspace_id = w.id "
            "WHERE w.id = ? AND s.id = ? AND s.deleted_at IS NULL AND s.auto_close = ? "
            "AND w.auto_close_enabled = ? AND w.auto_close_seconds = ? "
            "AND w.auto_close_seconds_by_channel = ?::jsonb FOR KEY SHARE OF w, s), "
        )
        guard = " AND xmin = ?::xid AND EXISTS (SELECT 1 FROM held)"
    return (
        f"WITH {held}moved AS ({_UPDATE_MOVED}{guard} "
        "RETURNING id, workspace_id, channel, stage_id), "
        f"{bump_and_count_postgres('EXISTS (SELECT 1 FROM moved)')}, "
        f"recorded AS (INSERT INTO stage_transition ({_TRANSITION_COLUMNS}) "
        "SELECT workspace_id, id, channel, ?::uuid, stage_id, ?::text, ?::text, "
        "?::timestamptz, ?::bigint FROM moved RETURNING id) "
        "SELECT (SELECT counts_version FROM bumped) AS counts_version, "
        "(SELECT id FROM recorded) AS transition_id"
    )


_MOVE_ONE_POSTGRES = _move_one_postgres(guarded=False)
_MOVE_ONE_GUARDED_POSTGRES = _move_one_postgres(guarded=True)


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
        from_kind = (
            from_stages[ticket.stage_id].kind
            if ticket.stage_id in from_stages
            else ticket.stage_kind
        )
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
                stay_us=stay_us(ticket.stage_entered_at, now),
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


@dataclass(frozen=True, slots=True)
class LockedRow:
    """A ticket row read under lock: what a set-based move of the system needs of it."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    channel: str
    stage_id: uuid.UUID
    stage_kind: StageKind
    version: int
    period_started_at: datetime
    last_customer_message_at: datetime | None
    auto_close_anchor_us: int | None
    stage_entered_at: datetime | None


@dataclass(slots=True)
class _PlannedRow:
    row: LockedRow
    to_stage_id: uuid.UUID
    period_started_at: datetime
    anchor_us: int | None
    due_us: int | None
    stay_us: int | None


async def move_rows(
    rows: list[LockedRow],
    targets: dict[uuid.UUID, Stage],
    source: TransitionSource,
    now: datetime,
    policies: dict[uuid.UUID, Policy],
    batch: EventBatch,
    actor_name: str = SYSTEM_ACTOR_NAME,
) -> list[LockedRow]:
    """Move locked rows to their workspace's stage in `targets` with set-based SQL.

    For the system's sweeps (to Open or Auto closed): each ticket ends as apply_move would
    leave it. A row moves only if its ticket still has the version and stage it was read
    with, so a stale row changes nothing. Returns the rows that moved; one counts change
    per workspace.
    """
    if not rows:
        return []
    kinds = {stage.kind for stage in targets.values()}
    if len(kinds) != 1 or StageKind.SNOOZED in kinds:
        raise ValueError("move_rows moves to one kind of stage, and not to Snoozed")
    kind = kinds.pop()
    planned: list[_PlannedRow] = []
    periods: dict[tuple[uuid.UUID, str], timedelta] = {}
    eligible = {ws: auto_close_eligible(t.kind, t.auto_close) for ws, t in targets.items()}
    for row in rows:
        target = targets.get(row.workspace_id)
        if target is None:
            raise LookupError(
                f"workspace {row.workspace_id} has no stage to move ticket {row.id} to"
            )
        policy = policies[row.workspace_id]
        key = (row.workspace_id, row.channel)
        period = periods.get(key)
        if period is None:
            period = periods[key] = policy.period(row.channel)
        schedule = schedule_auto_close(
            now=now,
            was_eligible=row.auto_close_anchor_us is not None,
            is_eligible=eligible[row.workspace_id],
            fresh_period=is_closed(row.stage_kind),
            period_started_at=row.period_started_at,
            last_customer_message_at=row.last_customer_message_at,
            enabled=policy.auto_close_enabled,
            period=period,
        )
        planned.append(
            _PlannedRow(
                row,
                target.id,
                schedule.period_started_at,
                schedule.anchor_us,
                schedule.due_us,
                stay_us(row.stage_entered_at, now),
            )
        )
    closed_at = now if is_closed(kind) else None
    write = _write_rows_postgres if is_postgres() else _write_rows_sqlite
    transition_ids = await write(planned, kind, source, actor_name, now, closed_at)
    moved = [p for p in planned if p.row.id in transition_ids]
    deltas: dict[uuid.UUID, Counter[CountKey]] = {}
    leaving = Counter((p.row.workspace_id, p.row.stage_id, p.row.channel) for p in moved)
    arriving = Counter((p.row.workspace_id, p.to_stage_id, p.row.channel) for p in moved)
    for sign, counted in ((-1, leaving), (1, arriving)):
        for (workspace_id, stage_id, channel), n in counted.items():
            deltas.setdefault(workspace_id, Counter())[(stage_id, channel)] += sign * n
    # workspaces in a fixed order, as apply_changes orders counter rows: no lock cycles
    for workspace_id in sorted(deltas, key=str):
        await apply_changes(workspace_id, deltas[workspace_id], batch)
    at_text, stage_text = now.isoformat(), {s.id: str(s.id) for s in targets.values()}
    for p in moved:
        from_text = stage_text.get(p.row.stage_id)
        if from_text is None:
            from_text = stage_text[p.row.stage_id] = str(p.row.stage_id)
        batch.add(
            p.row.workspace_id,
            TOPIC_CHANGES,
            transition_event(
                ticket_id=str(p.row.id),
                transition_id=transition_ids[p.row.id],
                from_stage_id=from_text,
                to_stage_id=stage_text[p.to_stage_id],
                source=source.value,
                actor=actor_name,
                at=at_text,
                version=p.row.version + 1,
            ),
        )
    return [p.row for p in moved]


_SET_MOVED = (
    "stage_kind = ?, version = ticket.version + 1, updated_at = ?, "
    "period_started_at = m.period_started_at, auto_close_anchor_us = m.anchor_us, "
    "auto_close_due_us = m.due_us, snoozed_until = NULL, snoozed_until_reply = FALSE, "
    "wake_on_customer_reply = TRUE, closed_at = ?, stage_id = m.to_stage_id, "
    "stage_entered_at = ?"
)
_GUARD = "ticket.id = m.id AND ticket.version = m.version AND ticket.stage_id = m.from_stage_id"

# one statement: update the rows still as read, and insert a transition for each that changed
_MOVE_POSTGRES = (
    "WITH m AS (SELECT * FROM unnest(?::uuid[], ?::int[], ?::uuid[], ?::uuid[], "
    "?::timestamptz[], ?::bigint[], ?::bigint[], ?::bigint[]) "
    "AS m(id, version, from_stage_id, to_stage_id, period_started_at, anchor_us, due_us, "
    "stay_us)), "
    # "id = ANY" lets the planner fetch the batch by primary key instead of hashing the table;
    # $1 is the first ? (the ids), sent once
    f"moved AS (UPDATE ticket SET {_SET_MOVED} FROM m "
    f"WHERE ticket.id = ANY($1::uuid[]) AND {_GUARD} "
    "RETURNING ticket.id, ticket.workspace_id, ticket.channel, m.from_stage_id, m.to_stage_id, "
    "m.stay_us) "
    f"INSERT INTO stage_transition ({_TRANSITION_COLUMNS}) "
    "SELECT workspace_id, id, channel, from_stage_id, to_stage_id, ?, ?, ?, stay_us FROM moved "
    "RETURNING id, ticket_id"
)


async def _write_rows_postgres(
    planned: list[_PlannedRow],
    kind: StageKind,
    source: TransitionSource,
    actor_name: str,
    now: datetime,
    closed_at: datetime | None,
) -> dict[uuid.UUID, int]:
    records = await fetch(
        _MOVE_POSTGRES,
        [p.row.id for p in planned],
        [p.row.version for p in planned],
        [p.row.stage_id for p in planned],
        [p.to_stage_id for p in planned],
        [p.period_started_at for p in planned],
        [p.anchor_us for p in planned],
        [p.due_us for p in planned],
        [p.stay_us for p in planned],
        kind.value,
        now,
        closed_at,
        now,
        source.value,
        actor_name,
        now,
    )
    return {record["ticket_id"]: record["id"] for record in records}


_SQLITE_CHUNK = 500  # rows per statement, well under SQLite's limit of bound parameters


async def _write_rows_sqlite(
    planned: list[_PlannedRow],
    kind: StageKind,
    source: TransitionSource,
    actor_name: str,
    now: datetime,
    closed_at: datetime | None,
) -> dict[uuid.UUID, int]:
    transition_ids: dict[uuid.UUID, int] = {}
    for start in range(0, len(planned), _SQLITE_CHUNK):
        chunk = planned[start : start + _SQLITE_CHUNK]
        values: list[object] = []
        for p in chunk:
            values += [
                p.row.id,
                p.row.version,
                p.row.stage_id,
                p.to_stage_id,
                p.period_started_at,
                p.anchor_us,
                p.due_us,
            ]
        updated = await fetch(
            "WITH m(id, version, from_stage_id, to_stage_id, period_started_at, anchor_us, due_us) "
            f"AS (VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?)'] * len(chunk))}) "
            f"UPDATE ticket SET {_SET_MOVED} FROM m WHERE {_GUARD} RETURNING ticket.id",
            *values,
            kind.value,
            now,
            closed_at,
            now,
        )
        changed = {uuid.UUID(str(record["id"])) for record in updated}
        inserted = [p for p in chunk if p.row.id in changed]
        if not inserted:
            continue
        values = []
        for p in inserted:
            values += [
                p.row.workspace_id,
                p.row.id,
                p.row.channel,
                p.row.stage_id,
                p.to_stage_id,
                source.value,
                actor_name,
                now,
                p.stay_us,
            ]
        records = await fetch(
            f"INSERT INTO stage_transition ({_TRANSITION_COLUMNS}) "
            f"VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?, ?, ?)'] * len(inserted))} "
            "RETURNING id, ticket_id",
            *values,
        )
        transition_ids.update({uuid.UUID(str(r["ticket_id"])): int(r["id"]) for r in records})
    return transition_ids
