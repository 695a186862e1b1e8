from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model

from models.enums import ClosedReplyPolicy, Role

DEFAULT_AUTO_CLOSE_SECONDS = 3 * 24 * 3600


class Workspace(Model):
    """One business using the help desk, with its settings and its stage-counts version."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    name = fields.CharField(max_length=100)
    created_at = fields.DatetimeField()
    counts_version = fields.BigIntField(default=0)
    auto_close_enabled = fields.BooleanField(default=True)
    auto_close_seconds = fields.BigIntField(default=DEFAULT_AUTO_CLOSE_SECONDS)
    # {"WHATSAPP": 3600, ...}: per-channel overrides of auto_close_seconds
    auto_close_seconds_by_channel: dict[str, int] = fields.JSONField(default=dict)  # type: ignore[assignment]
    closed_reply_policy = fields.CharEnumField(ClosedReplyPolicy, default=ClosedReplyPolicy.BOT)

    class Meta:
        table = "workspace"


class ApiKey(Model):
    """A credential of one workspace (only a hash of its secret is stored)."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="api_keys", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    name = fields.CharField(max_length=100)
    role = fields.CharEnumField(Role)
    secret_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
        indexes = (("workspace_id", "created_at"),)
