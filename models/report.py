from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model

from models.enums import Channel, ReportStatus
from models.workspace import Workspace


class Report(Model):
    """A customer ticket report: its filters, its progress and where its file is."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="reports", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    name = fields.CharField(max_length=100)
    start_date = fields.DateField()
    end_date = fields.DateField()
    channel = fields.CharEnumField(Channel, null=True)
    timezone = fields.CharField(max_length=64)
    status = fields.CharEnumField(ReportStatus, default=ReportStatus.PENDING)
    progress = fields.FloatField(default=0.0)
    row_count = fields.IntField(null=True)
    error = fields.TextField(null=True)
    created_by = fields.CharField(max_length=100)
    created_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    # refreshed while a worker generates it; a RUNNING report whose heartbeat is old is taken over
    heartbeat_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    file_name = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "report"
        indexes = (("workspace_id", "created_at"), ("status", "heartbeat_at"))
