from __future__ import annotations

import strawberry

from api.types.admin import ApiKey, WorkspaceSettings
from api.types.enums import ErrorCode
from api.types.stage import Stage
from api.types.ticket import Ticket
from desk.errors import DeskError


@strawberry.type(description="An expected failure: nothing was changed.")
class UserError:
    code: ErrorCode
    message: str
    field: list[str] | None = None

    @classmethod
    def from_error(cls, error: DeskError) -> UserError:
        return cls(code=error.code, message=error.message, field=error.field)


@strawberry.type
class TicketPayload:
    ticket: Ticket | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BulkFailure:
    ticket_id: strawberry.ID
    code: ErrorCode
    message: str


@strawberry.type
class BulkChangeStagePayload:
    moved: list[Ticket] = strawberry.field(default_factory=list)
    unchanged: list[strawberry.ID] = strawberry.field(default_factory=list)
    failed: list[BulkFailure] = strawberry.field(default_factory=list)
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class StagePayload:
    stage: Stage | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteStagePayload:
    deleted_stage_id: strawberry.ID | None = None
    moved_ticket_count: int = 0
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SettingsPayload:
    settings: WorkspaceSettings | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(default=None, description="Shown once.")
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RevokeApiKeyPayload:
    api_key: ApiKey | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
