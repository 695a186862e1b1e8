"""Reading tickets: cursor pages, newest first, with filters."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from desk.access import Actor, Permission
from desk.errors import DeskError, ErrorCode, invalid
from desk.ids import parse_id
from models import Channel, StageKind, Ticket

MAX_PAGE = 100


@dataclass(frozen=True)
class TicketFilter:
    stage_ids: list[str] | None = None
    stage_kinds: list[StageKind] | None = None
    channel: Channel | None = None
    customer_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass
class TicketPage:
    tickets: list[Ticket]
    has_next_page: bool
    matching: QuerySet[Ticket]

    async def total_count(self) -> int:
        """Every ticket the filter matches (counted only when asked for)."""
        return await self.matching.count()

    def cursor(self, ticket: Ticket) -> str:
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


def _filtered(actor: Actor, where: TicketFilter | None) -> QuerySet[Ticket]:
    query = Ticket.filter(workspace_id=actor.workspace_id)
    if where is None:
        return query
    if where.stage_ids is not None:
        ids = [parsed for raw in where.stage_ids if (parsed := parse_id(raw)) is not None]
        query = query.filter(stage_id__in=ids)
    if where.stage_kinds is not None:
        query = query.filter(stage_kind__in=list(where.stage_kinds))
    if where.channel is not None:
        query = query.filter(channel=where.channel)
    if where.customer_id is not None:
        if "\x00" in where.customer_id:
            raise invalid("customerId cannot hold NUL characters", "filter", "customerId")
        query = query.filter(customer_id=where.customer_id)
    if where.created_after is not None:
        query = query.filter(created_at__gt=where.created_after)
    if where.created_before is not None:
        query = query.filter(created_at__lt=where.created_before)
    return query


async def list_tickets(
    actor: Actor, first: int = 50, after: str | None = None, where: TicketFilter | None = None
) -> TicketPage:
    actor.require(Permission.READ)
    if first < 0:
        raise invalid("first cannot be negative", "first")
    if first > MAX_PAGE:
        raise DeskError(ErrorCode.LIMIT_EXCEEDED, f"first is at most {MAX_PAGE}", ["first"])
    base = _filtered(actor, where)
    page = base
    if after is not None:
        created_at, ticket_id = decode_cursor(after)
        page = page.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=ticket_id)
        )
    rows = await page.order_by("-created_at", "-id").limit(first + 1)
    return TicketPage(tickets=rows[:first], has_next_page=len(rows) > first, matching=base)
