from __future__ import annotations

import strawberry

from api.context import Info, actor_of
from api.resolvers.outcome import attempt
from api.types.inputs import (
    BulkChangeStageInput,
    ChangeStageInput,
    CreateTicketInput,
    RecordMessageInput,
    ReopenTicketInput,
    SnoozeTicketInput,
)
from api.types.payloads import BulkChangeStagePayload, BulkFailure, TicketPayload
from api.types.ticket import Ticket
from desk import tickets
from models import Ticket as TicketModel


def _payload(model: TicketModel | None, errors: list) -> TicketPayload:
    return TicketPayload(
        ticket=None if model is None else Ticket.from_model(model), user_errors=errors
    )


@strawberry.type
class TicketMutations:
    @strawberry.mutation
    async def create_ticket(self, info: Info, input: CreateTicketInput) -> TicketPayload:
        desk = info.context.services.desk
        return _payload(
            *await attempt(
                tickets.create_ticket(
                    desk,
                    actor_of(info),
                    input.customer_id,
                    input.channel,
                    input.subject,
                    None if input.stage_id is None else str(input.stage_id),
                )
            )
        )

    @strawberry.mutation(description="Returns the new ticket under the NEW_TICKET policy.")
    async def record_message(self, info: Info, input: RecordMessageInput) -> TicketPayload:
        desk = info.context.services.desk
        return _payload(
            *await attempt(
                tickets.record_message(
                    desk, actor_of(info), str(input.ticket_id), input.author, input.sent_at
                )
            )
        )

    @strawberry.mutation
    async def change_stage(self, info: Info, input: ChangeStageInput) -> TicketPayload:
        desk = info.context.services.desk
        return _payload(
            *await attempt(
                tickets.change_stage(
                    desk,
                    actor_of(info),
                    str(input.ticket_id),
                    str(input.stage_id),
                    input.expected_version,
                )
            )
        )

    @strawberry.mutation
    async def snooze_ticket(self, info: Info, input: SnoozeTicketInput) -> TicketPayload:
        desk = info.context.services.desk
        return _payload(
            *await attempt(
                tickets.snooze_ticket(
                    desk,
                    actor_of(info),
                    str(input.ticket_id),
                    input.until,
                    input.wake_on_customer_reply,
                    input.expected_version,
                )
            )
        )

    @strawberry.mutation
    async def reopen_ticket(self, info: Info, input: ReopenTicketInput) -> TicketPayload:
        desk = info.context.services.desk
        return _payload(
            *await attempt(
                tickets.reopen_ticket(
                    desk, actor_of(info), str(input.ticket_id), input.expected_version
                )
            )
        )

    @strawberry.mutation(description="At most 1000 tickets move together.")
    async def bulk_change_stage(
        self, info: Info, input: BulkChangeStageInput
    ) -> BulkChangeStagePayload:
        desk = info.context.services.desk
        result, errors = await attempt(
            tickets.bulk_change_stage(
                desk, actor_of(info), [str(i) for i in input.ticket_ids], str(input.stage_id)
            )
        )
        if result is None:
            return BulkChangeStagePayload(user_errors=errors)
        return BulkChangeStagePayload(
            moved=[Ticket.from_model(t) for t in result.moved],
            unchanged=[strawberry.ID(i) for i in result.unchanged],
            failed=[
                BulkFailure(ticket_id=strawberry.ID(i), code=code, message=message)
                for i, code, message in result.failed
            ],
        )
