from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime

import strawberry

from api.context import Info
from api.plain_fields import value_when_known
from api.types.enums import Channel, TransitionSource
from api.types.stage import Stage
from desk.clock import from_us
from desk.rules import bot_active
from desk.ticket_queries import TicketPage, TicketRow, encode_cursor
from models import StageTransition as TransitionModel
from models import Ticket as TicketModel


async def _stage(info: Info, stage_id: object) -> Stage:
    return Stage.from_model(await info.context.loaders.stage.load(stage_id))


@strawberry.type(description="One change of a ticket's stage, recorded forever.")
class StageTransition:
    model: strawberry.Private[TransitionModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def ticket_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.ticket_id))

    @strawberry.field(description="Null for CREATED.")
    async def from_stage(self, info: Info) -> Stage | None:
        if self.model.from_stage_id is None:
            return None
        return await _stage(info, self.model.from_stage_id)

    @strawberry.field
    async def to_stage(self, info: Info) -> Stage:
        return await _stage(info, self.model.to_stage_id)

    @strawberry.field
    def source(self) -> TransitionSource:
        return self.model.source

    @strawberry.field(description='API key name, or "system".')
    def actor(self) -> str:
        return self.model.actor

    @strawberry.field
    def at(self) -> datetime:
        return self.model.at


@value_when_known(lambda root: root.known_stage)
def _stage_of(root: Ticket, info: Info) -> Stage | Awaitable[Stage]:
    # the stage when the reader already has it (a page of tickets); else loaded when asked for
    if root.known_stage is not None:
        return root.known_stage
    return _stage(info, root.stage_id)


@strawberry.type(description="One conversation with one customer on one channel.")
class Ticket:
    """Every field but stage and history is a value computed once, when the ticket is built."""

    id: strawberry.ID
    customer_id: str
    channel: Channel
    subject: str | None
    stage: Stage | Awaitable[Stage] = strawberry.field(resolver=_stage_of, graphql_type=Stage)

    version: int = strawberry.field(description="Grows by one on every transition.")
    created_at: datetime
    updated_at: datetime
    last_customer_message_at: datetime | None
    auto_close_at: datetime | None = strawberry.field(
        description="When it auto-closes if nothing happens; null when not eligible."
    )
    snoozed_until: datetime | None = strawberry.field(
        description="Null unless snoozed with a time."
    )
    snoozed_until_reply: bool = strawberry.field(
        description="True while snoozed until the customer replies."
    )
    wake_on_customer_reply: bool = strawberry.field(
        description="Whether a customer message wakes this snoozed ticket."
    )
    closed_at: datetime | None = strawberry.field(
        description="Null unless in Closed or Auto closed."
    )
    bot_active: bool = strawberry.field(
        description="True exactly when the stage kind is CLOSED or AUTO_CLOSED."
    )
    ticket_id: strawberry.Private[uuid.UUID]
    stage_id: strawberry.Private[uuid.UUID]
    known_stage: strawberry.Private[Stage | None]

    @strawberry.field(description="Oldest first.")
    async def history(self, info: Info) -> list[StageTransition]:
        transitions = await info.context.loaders.history.load(self.ticket_id)
        return [StageTransition(model=t) for t in transitions]

    @classmethod
    def from_model(cls, model: TicketModel | TicketRow, stage: Stage | None = None) -> Ticket:
        due = model.auto_close_due_us
        return cls(
            id=strawberry.ID(str(model.id)),
            customer_id=model.customer_id,
            channel=model.channel,
            subject=model.subject,
            version=model.version,
            created_at=model.created_at,
            updated_at=model.updated_at,
            last_customer_message_at=model.last_customer_message_at,
            auto_close_at=None if due is None else from_us(due),
            snoozed_until=model.snoozed_until,
            snoozed_until_reply=model.snoozed_until_reply,
            wake_on_customer_reply=model.wake_on_customer_reply,
            closed_at=model.closed_at,
            bot_active=bot_active(model.stage_kind),
            ticket_id=model.id,
            stage_id=model.stage_id,
            known_stage=stage,
        )


def _cursor_of(root: TicketEdge) -> str:
    return encode_cursor(root.node.created_at, root.node.ticket_id)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class TicketEdge:
    cursor: str = strawberry.field(resolver=_cursor_of)

    node: Ticket


@strawberry.type
class TicketConnection:
    edges: list[TicketEdge]
    page_info: PageInfo
    page: strawberry.Private[TicketPage]

    @strawberry.field(description="Every ticket the filter matches.")
    async def total_count(self) -> int:
        return await self.page.total_count()

    @classmethod
    def from_page(cls, page: TicketPage) -> TicketConnection:
        stages = {stage_id: Stage.from_model(row) for stage_id, row in page.stages.items()}
        edges = [TicketEdge(node=Ticket.from_model(t, stages[t.stage_id])) for t in page.tickets]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=page.cursor(page.tickets[-1]) if page.tickets else None,
            ),
            page=page,
        )
