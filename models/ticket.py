from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model

from models.enums import Channel, MessageAuthor, StageKind, TransitionSource
from models.stage import Stage
from models.workspace import Workspace


class Ticket(Model):
    """One conversation with one customer on one channel.

    Auto-close is kept as whole microseconds since the epoch so that a change of period can
    reschedule every ticket with one portable UPDATE: due = anchor + period.
    """

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="tickets", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    customer_id = fields.CharField(max_length=128)
    channel = fields.CharEnumField(Channel)
    subject = fields.CharField(max_length=200, null=True)
    stage: fields.ForeignKeyRelation[Stage] = fields.ForeignKeyField(
        "models.Stage", related_name="tickets", on_delete=fields.RESTRICT
    )
    stage_id: uuid.UUID
    stage_kind = fields.CharEnumField(StageKind)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    last_customer_message_at = fields.DatetimeField(null=True)
    # start of the current inactivity period (creation, reopen, wake, back to an eligible stage)
    period_started_at = fields.DatetimeField()
    auto_close_anchor_us = fields.BigIntField(null=True)
    auto_close_due_us = fields.BigIntField(null=True)
    snoozed_until = fields.DatetimeField(null=True)
    snoozed_until_reply = fields.BooleanField(default=False)
    wake_on_customer_reply = fields.BooleanField(default=True)
    closed_at = fields.DatetimeField(null=True)
    # when the ticket entered its current stage (the time of its latest transition)
    stage_entered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "ticket"
        indexes = (
            ("workspace_id", "created_at", "id"),
            ("workspace_id", "stage_id", "created_at"),
            ("workspace_id", "channel", "created_at"),
            ("workspace_id", "customer_id", "created_at"),
            ("auto_close_due_us",),
            ("snoozed_until",),
        )


class StageTransition(Model):
    """One change of a ticket's stage (append-only)."""

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="transitions", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="transitions", on_delete=fields.CASCADE
    )
    ticket_id: uuid.UUID
    channel = fields.CharEnumField(Channel)
    from_stage: fields.ForeignKeyNullableRelation[Stage] = fields.ForeignKeyField(
        "models.Stage", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    from_stage_id: uuid.UUID | None
    to_stage: fields.ForeignKeyRelation[Stage] = fields.ForeignKeyField(
        "models.Stage", related_name=False, on_delete=fields.RESTRICT
    )
    to_stage_id: uuid.UUID
    source = fields.CharEnumField(TransitionSource)
    actor = fields.CharField(max_length=100)
    at = fields.DatetimeField()
    # microseconds the ticket spent in from_stage (NULL for CREATED): durations without pairing
    stay_us = fields.BigIntField(null=True)

    class Meta:
        table = "stage_transition"
        indexes = (
            ("ticket_id", "id"),
            ("workspace_id", "at"),
            ("workspace_id", "channel", "at"),
        )


class Message(Model):
    """The time and author of a message reported by a channel integration (no body)."""

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name=False, on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="messages", on_delete=fields.CASCADE
    )
    ticket_id: uuid.UUID
    author = fields.CharEnumField(MessageAuthor)
    sent_at = fields.DatetimeField()
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "message"
        indexes = (("ticket_id", "sent_at"),)
