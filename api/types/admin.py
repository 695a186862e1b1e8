from __future__ import annotations

from datetime import datetime, timedelta

import strawberry

from api.types.enums import Channel, ClosedReplyPolicy, Role
from models import ApiKey as ApiKeyModel
from models import Workspace


@strawberry.type
class Viewer:
    workspace_id: strawberry.ID
    workspace_name: str
    api_key_name: str
    role: Role


@strawberry.type
class ChannelPeriod:
    channel: Channel
    period: timedelta


@strawberry.type
class WorkspaceSettings:
    auto_close_enabled: bool
    auto_close_period: timedelta
    auto_close_period_by_channel: list[ChannelPeriod]
    closed_reply_policy: ClosedReplyPolicy

    @classmethod
    def from_model(cls, workspace: Workspace) -> WorkspaceSettings:
        by_channel = workspace.auto_close_seconds_by_channel
        return cls(
            auto_close_enabled=workspace.auto_close_enabled,
            auto_close_period=timedelta(seconds=workspace.auto_close_seconds),
            auto_close_period_by_channel=[
                ChannelPeriod(channel=c, period=timedelta(seconds=by_channel[c.value]))
                for c in Channel  # type: ignore[attr-defined]
                if c.value in by_channel
            ],
            closed_reply_policy=workspace.closed_reply_policy,
        )


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    role: Role
    created_at: datetime
    revoked: bool

    @classmethod
    def from_model(cls, key: ApiKeyModel) -> ApiKey:
        return cls(
            id=strawberry.ID(str(key.id)),
            name=key.name,
            role=key.role,
            created_at=key.created_at,
            revoked=key.revoked_at is not None,
        )
