from __future__ import annotations

from datetime import datetime

import strawberry

from api.context import Info
from api.types.enums import Channel, TransitionSource
from api.types.stage import Stage
from desk.clock import from_us
from desk.rules import bot_active
from desk.ticket_queries import TicketPage
from models import StageTransition as TransitionModel
from models import Ticket as TicketModel


async def _stage(info: Info, stage_id: object) -> Stage:
    model = await info.context.loaders.stage.load(stage_id)
    return Stage(model=model)


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


@strawberry.type(description="One conversation with one customer on one channel.")
class Ticket:
    model: strawberry.Private[TicketModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def customer_id(self) -> str:
        return self.model.customer_id

    @strawberry.field
    def channel(self) -> Channel:
        return self.model.channel

    @strawberry.field
    def subject(self) -> str | None:
        return self.model.subject

    @strawberry.field
    async def stage(self, info: Info) -> Stage:
        return await _stage(info, self.model.stage_id)

    @strawberry.field(description="Grows by one on every transition.")
    def version(self) -> int:
        return self.model.version

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.model.updated_at

    @strawberry.field
    def last_customer_message_at(self) -> datetime | None:
        return self.model.last_customer_message_at

    @strawberry.field(description="When it auto-closes if nothing happens; null when not eligible.")
    def auto_close_at(self) -> datetime | None:
        due = self.model.auto_close_due_us
        return None if due is None else from_us(due)

    @strawberry.field(description="Null unless snoozed with a time.")
    def snoozed_until(self) -> datetime | None:
        return self.model.snoozed_until

    @strawberry.field(description="True while snoozed until the customer replies.")
    def snoozed_until_reply(self) -> bool:
        return self.model.snoozed_until_reply

    @strawberry.field(description="Whether a customer message wakes this snoozed ticket.")
    def wake_on_customer_reply(self) -> bool:
        return self.model.wake_on_customer_reply

    @strawberry.field(description="Null unless in Closed or Auto closed.")
    def closed_at(self) -> datetime | None:
        return self.model.closed_at

    @strawberry.field(description="True exactly when the stage kind is CLOSED or AUTO_CLOSED.")
    def bot_active(self) -> bool:
        return bot_active(self.model.stage_kind)

    @strawberry.field(description="Oldest first.")
    async def history(self, info: Info) -> list[StageTransition]:
        transitions = await info.context.loaders.history.load(self.model.id)
        return [StageTransition(model=t) for t in transitions]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class TicketEdge:
    cursor: str
    node: Ticket


@strawberry.type
class TicketConnection:
    edges: list[TicketEdge]
    page_info: PageInfo
    page: strawberry.Private[TicketPage]

    @strawberry.field(description="Every ticket the filter matches.")
    async def total_count(self) -> int:
        return await self.page.total_count()
