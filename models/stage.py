from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model

from models.enums import Channel, StageKind
from models.workspace import Workspace


class Stage(Model):
    """A stage of a workspace. Deleted intermediate stages are kept for history."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="stages", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    name = fields.CharField(max_length=50)
    # lower-cased name of a live stage; NULL once deleted, so the name can be used again
    name_key = fields.CharField(max_length=50, null=True)
    kind = fields.CharEnumField(StageKind)
    position = fields.IntField()
    auto_close = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "stage"
        unique_together = (("workspace_id", "name_key"),)
        indexes = (("workspace_id", "position"),)


class StageCounter(Model):
    """How many tickets of one channel are in one stage: maintained with every transition."""

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="counters", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    stage: fields.ForeignKeyRelation[Stage] = fields.ForeignKeyField(
        "models.Stage", related_name="counters", on_delete=fields.CASCADE
    )
    stage_id: uuid.UUID
    channel = fields.CharEnumField(Channel)
    count = fields.BigIntField(default=0)

    class Meta:
        table = "stage_counter"
        unique_together = (("stage_id", "channel"),)
        indexes = (("workspace_id", "stage_id"),)
