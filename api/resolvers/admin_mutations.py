from __future__ import annotations

import strawberry

from api.context import Info, actor_of
from api.resolvers.outcome import attempt
from api.types.admin import ApiKey, WorkspaceSettings
from api.types.inputs import (
    CreateApiKeyInput,
    CreateStageInput,
    DeleteStageInput,
    UpdateSettingsInput,
    UpdateStageInput,
)
from api.types.payloads import (
    CreateApiKeyPayload,
    DeleteStagePayload,
    RevokeApiKeyPayload,
    SettingsPayload,
    StagePayload,
)
from api.types.stage import Stage
from desk import api_keys, stages, workspaces


@strawberry.type
class AdminMutations:
    @strawberry.mutation(description="ADMIN only.")
    async def create_stage(self, info: Info, input: CreateStageInput) -> StagePayload:
        desk = info.context.services.desk
        stage, errors = await attempt(
            stages.create_stage(desk, actor_of(info), input.name, input.position, input.auto_close)
        )
        return StagePayload(
            stage=None if stage is None else Stage.from_model(stage), user_errors=errors
        )

    @strawberry.mutation(description="ADMIN only.")
    async def update_stage(self, info: Info, input: UpdateStageInput) -> StagePayload:
        desk = info.context.services.desk
        change = stages.StageChange(
            name=input.name, position=input.position, auto_close=input.auto_close
        )
        stage, errors = await attempt(
            stages.update_stage(desk, actor_of(info), str(input.id), change)
        )
        return StagePayload(
            stage=None if stage is None else Stage.from_model(stage), user_errors=errors
        )

    @strawberry.mutation(description="ADMIN only. Moves the stage's tickets to Open.")
    async def delete_stage(self, info: Info, input: DeleteStageInput) -> DeleteStagePayload:
        desk = info.context.services.desk
        result, errors = await attempt(stages.delete_stage(desk, actor_of(info), str(input.id)))
        if result is None:
            return DeleteStagePayload(user_errors=errors)
        stage_id, moved = result
        return DeleteStagePayload(
            deleted_stage_id=strawberry.ID(str(stage_id)), moved_ticket_count=moved
        )

    @strawberry.mutation(description="ADMIN only.")
    async def update_settings(self, info: Info, input: UpdateSettingsInput) -> SettingsPayload:
        desk = info.context.services.desk
        by_channel = None
        if input.auto_close_period_by_channel is not None:
            by_channel = [
                (item.channel, item.period) for item in input.auto_close_period_by_channel
            ]
        change = workspaces.SettingsChange(
            auto_close_enabled=input.auto_close_enabled,
            auto_close_period=input.auto_close_period,
            auto_close_period_by_channel=by_channel,
            closed_reply_policy=input.closed_reply_policy,
        )
        workspace, errors = await attempt(workspaces.update_settings(desk, actor_of(info), change))
        settings = None if workspace is None else WorkspaceSettings.from_model(workspace)
        return SettingsPayload(settings=settings, user_errors=errors)

    @strawberry.mutation(description="ADMIN only. The secret is shown once.")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        desk = info.context.services.desk
        result, errors = await attempt(
            api_keys.create_key(desk, actor_of(info), input.name, input.role)
        )
        if result is None:
            return CreateApiKeyPayload(user_errors=errors)
        key, secret = result
        return CreateApiKeyPayload(api_key=ApiKey.from_model(key), secret=secret)

    @strawberry.mutation(description="ADMIN only. Effective on the next request.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> RevokeApiKeyPayload:
        desk = info.context.services.desk
        key, errors = await attempt(api_keys.revoke_key(desk, actor_of(info), str(id)))
        return RevokeApiKeyPayload(
            api_key=None if key is None else ApiKey.from_model(key), user_errors=errors
        )
