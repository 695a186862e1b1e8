from __future__ import annotations

from datetime import datetime, timedelta

import strawberry

from api.types.enums import Channel, ClosedReplyPolicy, MessageAuthor, Role, StageKind


@strawberry.input
class TicketFilter:
    stage_ids: list[strawberry.ID] | None = None
    stage_kinds: list[StageKind] | None = None
    channel: Channel | None = None
    customer_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@strawberry.input
class CreateTicketInput:
    customer_id: str
    channel: Channel
    subject: str | None = None
    stage_id: strawberry.ID | None = None


@strawberry.input
class RecordMessageInput:
    ticket_id: strawberry.ID
    author: MessageAuthor
    sent_at: datetime | None = None


@strawberry.input
class ChangeStageInput:
    ticket_id: strawberry.ID
    stage_id: strawberry.ID
    expected_version: int | None = None


@strawberry.input(description="until null = until the customer replies.")
class SnoozeTicketInput:
    ticket_id: strawberry.ID
    until: datetime | None = None
    wake_on_customer_reply: bool = True
    expected_version: int | None = None


@strawberry.input
class ReopenTicketInput:
    ticket_id: strawberry.ID
    expected_version: int | None = None


@strawberry.input(description="At most 1000 ids.")
class BulkChangeStageInput:
    ticket_ids: list[strawberry.ID]
    stage_id: strawberry.ID


@strawberry.input
class CreateStageInput:
    name: str
    position: int | None = None
    auto_close: bool = True


@strawberry.input
class UpdateStageInput:
    id: strawberry.ID
    name: str | None = None
    position: int | None = None
    auto_close: bool | None = None


@strawberry.input
class DeleteStageInput:
    id: strawberry.ID


@strawberry.input
class ChannelPeriodInput:
    channel: Channel
    period: timedelta


@strawberry.input(description="autoClosePeriodByChannel replaces the whole list.")
class UpdateSettingsInput:
    auto_close_enabled: bool | None = None
    auto_close_period: timedelta | None = None
    auto_close_period_by_channel: list[ChannelPeriodInput] | None = None
    closed_reply_policy: ClosedReplyPolicy | None = None


@strawberry.input
class CreateApiKeyInput:
    name: str
    role: Role
