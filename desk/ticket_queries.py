"""Reading tickets: cursor pages, newest first, with filters.

A page is one statement: the tickets and the stage each is in, as plain rows (no ORM objects).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from desk.access import Actor, Permission
from desk.errors import DeskError, ErrorCode, invalid
from desk.ids import parse_id
from desk.sql import fetch, is_postgres, select
from models import Channel, StageKind

MAX_PAGE = 100

_CHANNELS = {c.value: c for c in Channel}
_KINDS = {k.value: k for k in StageKind}


@dataclass(frozen=True)
class TicketFilter:
    stage_ids: list[str] | None = None
    stage_kinds: list[StageKind] | None = None
    channel: Channel | None = None
    customer_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


class TicketRow(NamedTuple):
    """The columns of a ticket that readers see, named as on the model (a tuple: fast to make)."""

    id: uuid.UUID
    customer_id: str
    channel: Channel
    subject: str | None
    stage_id: uuid.UUID
    stage_kind: StageKind
    version: int
    created_at: datetime
    updated_at: datetime
    last_customer_message_at: datetime | None
    auto_close_due_us: int | None
    snoozed_until: datetime | None
    snoozed_until_reply: bool
    wake_on_customer_reply: bool
    closed_at: datetime | None


class StageRow(NamedTuple):
    """A stage as a page shows it, named as on the model."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    kind: StageKind
    position: int
    auto_close: bool
    deleted_at: datetime | None


@dataclass
class TicketPage:
    tickets: list[TicketRow]
    stages: dict[uuid.UUID, StageRow]  # the stage of every ticket on the page, by id
    has_next_page: bool
    where: str
    params: list[Any]

    async def total_count(self) -> int:
        """Every ticket the filter matches (counted only when asked for)."""
        rows = await fetch(f"SELECT COUNT(*) AS n FROM ticket t WHERE {self.where}", *self.params)
        return int(rows[0]["n"])

    def cursor(self, ticket: TicketRow) -> str:
        return encode_cursor(ticket.created_at, ticket.id)


def encode_cursor(created_at: datetime, ticket_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(ticket_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, ticket_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(created)
        parsed = parse_id(ticket_id)
        if parsed is None or moment.tzinfo is None:
            raise ValueError
        return moment, parsed
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise invalid("the cursor is not one this API gave out", "after") from None


def _db_time(moment: datetime, postgres: bool) -> datetime | str:
    # SQLite keeps Tortoise datetimes as UTC text ("2026-01-05 09:00:00.5+00:00"), which sorts
    # like time; a bound in the same form compares correctly.
    return moment if postgres else moment.astimezone(UTC).isoformat(sep=" ")


def _in(column: str, values: list[Any]) -> tuple[str, list[Any]]:
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join('?' * len(values))})", values


def _filtered(actor: Actor, where: TicketFilter | None, postgres: bool) -> tuple[str, list[Any]]:
    """The WHERE clause (over `ticket t`) and its parameters for the actor's tickets."""
    clauses = ["t.workspace_id = ?"]
    params: list[Any] = [actor.workspace_id]

    def add(clause: str, values: list[Any]) -> None:
        clauses.append(clause)
        params.extend(values)

    if where is None:
        return clauses[0], params
    if where.stage_ids is not None:
        ids = [parsed for raw in where.stage_ids if (parsed := parse_id(raw)) is not None]
        add(*_in("t.stage_id", ids))
    if where.stage_kinds is not None:
        add(*_in("t.stage_kind", [StageKind(k).value for k in where.stage_kinds]))
    if where.channel is not None:
        add("t.channel = ?", [Channel(where.channel).value])
    if where.customer_id is not None:
        if "\x00" in where.customer_id:
            raise invalid("customerId cannot hold NUL characters", "filter", "customerId")
        add("t.customer_id = ?", [where.customer_id])
    if where.created_after is not None:
        add("t.created_at > ?", [_db_time(where.created_after, postgres)])
    if where.created_before is not None:
        add("t.created_at < ?", [_db_time(where.created_before, postgres)])
    return " AND ".join(clauses), params


_PAGE = (
    "SELECT t.id, t.customer_id, t.channel, t.subject, t.stage_id, t.stage_kind, t.version,"
    " t.created_at, t.updated_at, t.last_customer_message_at, t.auto_close_due_us,"
    " t.snoozed_until, t.snoozed_until_reply, t.wake_on_customer_reply, t.closed_at,"
    " s.workspace_id AS stage_workspace_id, s.name AS stage_name, s.kind AS stage_kind_of,"
    " s.position AS stage_position, s.auto_close AS stage_auto_close,"
    " s.deleted_at AS stage_deleted_at"
    " FROM ticket t JOIN stage s ON s.id = t.stage_id"
    " WHERE {where} ORDER BY t.created_at DESC, t.id DESC LIMIT ?"
)


async def list_tickets(
    actor: Actor, first: int = 50, after: str | None = None, where: TicketFilter | None = None
) -> TicketPage:
    actor.require(Permission.READ)
    if first < 0:
        raise invalid("first cannot be negative", "first")
    if first > MAX_PAGE:
        raise DeskError(ErrorCode.LIMIT_EXCEEDED, f"first is at most {MAX_PAGE}", ["first"])
    postgres = is_postgres()
    base, params = _filtered(actor, where, postgres)
    page, page_params = base, list(params)
    if after is not None:
        created_at, ticket_id = decode_cursor(after)
        moment = _db_time(created_at, postgres)
        page += " AND (t.created_at < ? OR (t.created_at = ? AND t.id < ?))"
        page_params += [moment, moment, ticket_id]
    records = await select(_PAGE.format(where=page), *page_params, first + 1)
    ticket_of, stage_of = (_ticket, _stage) if postgres else (_sqlite_ticket, _sqlite_stage)
    tickets = [ticket_of(r) for r in records[:first]]
    stages: dict[uuid.UUID, StageRow] = {}
    for ticket, record in zip(tickets, records, strict=False):
        if ticket.stage_id not in stages:
            stages[ticket.stage_id] = stage_of(ticket.stage_id, record)
    return TicketPage(tickets, stages, len(records) > first, base, params)


def _ticket(r: Mapping[str, Any]) -> TicketRow:
    return TicketRow(
        r["id"],
        r["customer_id"],
        _CHANNELS[r["channel"]],
        r["subject"],
        r["stage_id"],
        _KINDS[r["stage_kind"]],
        r["version"],
        r["created_at"],
        r["updated_at"],
        r["last_customer_message_at"],
        r["auto_close_due_us"],
        r["snoozed_until"],
        r["snoozed_until_reply"],
        r["wake_on_customer_reply"],
        r["closed_at"],
    )


def _stage(stage_id: uuid.UUID, r: Mapping[str, Any]) -> StageRow:
    return StageRow(
        stage_id,
        r["stage_workspace_id"],
        r["stage_name"],
        _KINDS[r["stage_kind_of"]],
        r["stage_position"],
        r["stage_auto_close"],
        r["stage_deleted_at"],
    )


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# SQLite keeps Tortoise's text forms of UUIDs and datetimes, and 0/1 for booleans


def _sqlite_ticket(r: Mapping[str, Any]) -> TicketRow:
    return TicketRow(
        uuid.UUID(r["id"]),
        r["customer_id"],
        _CHANNELS[r["channel"]],
        r["subject"],
        uuid.UUID(r["stage_id"]),
        _KINDS[r["stage_kind"]],
        r["version"],
        datetime.fromisoformat(r["created_at"]),
        datetime.fromisoformat(r["updated_at"]),
        _time(r["last_customer_message_at"]),
        r["auto_close_due_us"],
        _time(r["snoozed_until"]),
        bool(r["snoozed_until_reply"]),
        bool(r["wake_on_customer_reply"]),
        _time(r["closed_at"]),
    )


def _sqlite_stage(stage_id: uuid.UUID, r: Mapping[str, Any]) -> StageRow:
    return StageRow(
        stage_id,
        uuid.UUID(r["stage_workspace_id"]),
        r["stage_name"],
        _KINDS[r["stage_kind_of"]],
        r["stage_position"],
        bool(r["stage_auto_close"]),
        _time(r["stage_deleted_at"]),
    )
