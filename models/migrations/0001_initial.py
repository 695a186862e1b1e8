import functools
from json import dumps, loads
from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import (
    Channel,
    ClosedReplyPolicy,
    MessageAuthor,
    ReportStatus,
    Role,
    StageKind,
    TransitionSource,
)


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Workspace",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("name", fields.CharField(max_length=100)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("counts_version", fields.BigIntField(default=0)),
                ("auto_close_enabled", fields.BooleanField(default=True)),
                ("auto_close_seconds", fields.BigIntField(default=259200)),
                (
                    "auto_close_seconds_by_channel",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "closed_reply_policy",
                    fields.CharEnumField(
                        default=ClosedReplyPolicy.BOT,
                        description="BOT: BOT\nREOPEN: REOPEN\nNEW_TICKET: NEW_TICKET",
                        enum_type=ClosedReplyPolicy,
                        max_length=10,
                    ),
                ),
            ],
            options={
                "table": "workspace",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One business using the help desk, with its settings and its stage-counts version.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ApiKey",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "workspace",
                    fields.ForeignKeyField(
                        "models.Workspace",
                        source_field="workspace_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="api_keys",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                (
                    "role",
                    fields.CharEnumField(
                        description="ADMIN: ADMIN\nMANAGER: MANAGER\nAGENT: AGENT\nVIEWER: VIEWER",
                        enum_type=Role,
                        max_length=7,
                    ),
                ),
                ("secret_hash", fields.CharField(unique=True, max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "api_key",
                "app": "models",
                "indexes": [Index(fields=["workspace_id", "created_at"])],
                "pk_attr": "id",
                "table_description": "A credential of one workspace (only a hash of its secret is stored).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Report",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "workspace",
                    fields.ForeignKeyField(
                        "models.Workspace",
                        source_field="workspace_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="reports",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                ("start_date", fields.DateField()),
                ("end_date", fields.DateField()),
                (
                    "channel",
                    fields.CharEnumField(
                        null=True,
                        description="WHATSAPP: WHATSAPP\nINSTAGRAM: INSTAGRAM\nMESSENGER: MESSENGER\nEMAIL: EMAIL\nWEB_CHAT: WEB_CHAT\nSMS: SMS",
                        enum_type=Channel,
                        max_length=9,
                    ),
                ),
                ("timezone", fields.CharField(max_length=64)),
                (
                    "status",
                    fields.CharEnumField(
                        default=ReportStatus.PENDING,
                        description="PENDING: PENDING\nRUNNING: RUNNING\nREADY: READY\nFAILED: FAILED",
                        enum_type=ReportStatus,
                        max_length=7,
                    ),
                ),
                ("progress", fields.FloatField(default=0.0)),
                ("row_count", fields.IntField(null=True)),
                ("error", fields.TextField(null=True, unique=False)),
                ("created_by", fields.CharField(max_length=100)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "completed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "heartbeat_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("attempts", fields.IntField(default=0)),
                ("file_name", fields.CharField(null=True, max_length=200)),
            ],
            options={
                "table": "report",
                "app": "models",
                "indexes": [
                    Index(fields=["workspace_id", "created_at"]),
                    Index(fields=["status", "heartbeat_at"]),
                ],
                "pk_attr": "id",
                "table_description": "A customer ticket report: its filters, its progress and where its file is.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Stage",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "workspace",
                    fields.ForeignKeyField(
                        "models.Workspace",
                        source_field="workspace_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="stages",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=50)),
                ("name_key", fields.CharField(null=True, max_length=50)),
                (
                    "kind",
                    fields.CharEnumField(
                        description="OPEN: OPEN\nCLOSED: CLOSED\nSNOOZED: SNOOZED\nAUTO_CLOSED: AUTO_CLOSED\nINTERMEDIATE: INTERMEDIATE",
                        enum_type=StageKind,
                        max_length=12,
                    ),
                ),
                ("position", fields.IntField()),
                ("auto_close", fields.BooleanField(default=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("deleted_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "stage",
                "app": "models",
                "unique_together": (("workspace_id", "name_key"),),
                "indexes": [Index(fields=["workspace_id", "position"])],
                "pk_attr": "id",
                "table_description": "A stage of a workspace. Deleted intermediate stages are kept for history.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StageCounter",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "workspace",
                    fields.ForeignKeyField(
                        "models.Workspace",
                        source_field="workspace_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="counters",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "stage",
                    fields.ForeignKeyField(
                        "models.Stage",
                        source_field="stage_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="counters",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "channel",
                    fields.CharEnumField(
                        description="WHATSAPP: WHATSAPP\nINSTAGRAM: INSTAGRAM\nMESSENGER: MESSENGER\nEMAIL: EMAIL\nWEB_CHAT: WEB_CHAT\nSMS: SMS",
                        enum_type=Channel,
                        max_length=9,
                    ),
                ),
                ("count", fields.BigIntField(default=0)),
            ],
            options={
                "table": "stage_counter",
                "app": "models",
                "unique_together": (("stage_id", "channel"),),
                "indexes": [Index(fields=["workspace_id", "stage_id"])],
                "pk_attr": "id",
                "table_description": "How many tickets of one channel are in one stage: maintained with every transition.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Ticket",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "workspace",
                    fields.ForeignKeyField(
                        "models.Workspace",
                        source_field="workspace_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tickets",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("customer_id", fields.CharField(max_length=128)),
                (
                    "channel",
                    fields.CharEnumField(
                        description="WHATSAPP: WHATSAPP\nINSTAGRAM: INSTAGRAM\nMESSENGER: MESSENGER\nEMAIL: EMAIL\nWEB_CHAT: WEB_CHAT\nSMS: SMS",
                        enum_type=Channel,
                        max_length=9,
                    ),
                ),
                ("subject", fields.CharField(null=True, max_length=200)),
                (
                    "stage",
                    fields.ForeignKeyField(
                        "models.Stage",
                        source_field="stage_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tickets",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "stage_kind",
                    fields.CharEnumField(
                        description="OPEN: OPEN\nCLOSED: CLOSED\nSNOOZED: SNOOZED\nAUTO_CLOSED: AUTO_CLOSED\nINTERMEDIATE: INTERMEDIATE",
                        enum_type=StageKind,
                        max_length=12,
                    ),
                ),
                ("version", fields.IntField(default=1)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "last_customer_message_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("period_started_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("auto_close_anchor_us", fields.BigIntField(null=True)),
                ("auto_close_due_us", fields.BigIntField(null=True)),
                (
                    "snoozed_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("snoozed_until_reply", fields.BooleanField(default=False)),
                ("wake_on_customer_reply", fields.BooleanField(default=True)),
                ("closed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "ticket",
                "app": "models",
                "indexes": [
                    Index(fields=["workspace_id", "created_at", "id"]),
                    Index(fields=["workspace_id", "stage_id", "created_at"]),
                    Index(fields=["workspace_id", "channel", "created_at"]),
                    Index(fields=["workspace_id", "customer_id", "created_at"]),
                    Index(fields=["auto_close_due_us"]),
                    Index(fields=["snoozed_until"]),
                ],
                "pk_attr": "id",
                "table_description": "One conversation with one customer on one channel.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Message",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "workspace",
                    fields.ForeignKeyField(
                        "models.Workspace",
                        source_field="workspace_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "ticket",
                    fields.ForeignKeyField(
                        "models.Ticket",
                        source_field="ticket_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="messages",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "author",
                    fields.CharEnumField(
                        description="CUSTOMER: CUSTOMER\nAGENT: AGENT\nBOT: BOT",
                        enum_type=MessageAuthor,
                        max_length=8,
                    ),
                ),
                ("sent_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("recorded_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "message",
                "app": "models",
                "indexes": [Index(fields=["ticket_id", "sent_at"])],
                "pk_attr": "id",
                "table_description": "The time and author of a message reported by a channel integration (no body).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StageTransition",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "workspace",
                    fields.ForeignKeyField(
                        "models.Workspace",
                        source_field="workspace_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="transitions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "ticket",
                    fields.ForeignKeyField(
                        "models.Ticket",
                        source_field="ticket_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="transitions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "channel",
                    fields.CharEnumField(
                        description="WHATSAPP: WHATSAPP\nINSTAGRAM: INSTAGRAM\nMESSENGER: MESSENGER\nEMAIL: EMAIL\nWEB_CHAT: WEB_CHAT\nSMS: SMS",
                        enum_type=Channel,
                        max_length=9,
                    ),
                ),
                (
                    "from_stage",
                    fields.ForeignKeyField(
                        "models.Stage",
                        source_field="from_stage_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "to_stage",
                    fields.ForeignKeyField(
                        "models.Stage",
                        source_field="to_stage_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "source",
                    fields.CharEnumField(
                        description="CREATED: CREATED\nMANUAL: MANUAL\nBULK: BULK\nREOPEN: REOPEN\nSNOOZE: SNOOZE\nSNOOZE_WAKE: SNOOZE_WAKE\nCUSTOMER_REPLY: CUSTOMER_REPLY\nAUTO_CLOSE: AUTO_CLOSE\nSTAGE_DELETED: STAGE_DELETED",
                        enum_type=TransitionSource,
                        max_length=14,
                    ),
                ),
                ("actor", fields.CharField(max_length=100)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "stage_transition",
                "app": "models",
                "indexes": [
                    Index(fields=["ticket_id", "id"]),
                    Index(fields=["workspace_id", "at"]),
                    Index(fields=["workspace_id", "channel", "at"]),
                ],
                "pk_attr": "id",
                "table_description": "One change of a ticket's stage (append-only).",
            },
            bases=["Model"],
        ),
    ]
