from __future__ import annotations

import strawberry

from api.context import Info
from api.types.enums import StageKind
from models import Stage as StageModel


@strawberry.type(description="Where a ticket is. System stages come first.")
class Stage:
    model: strawberry.Private[StageModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def kind(self) -> StageKind:
        return self.model.kind

    @strawberry.field(description="Display order; system stages first.")
    def position(self) -> int:
        return self.model.position

    @strawberry.field(description="False keeps tickets in this stage out of auto-close.")
    def auto_close(self) -> bool:
        return self.model.auto_close

    @strawberry.field
    def deleted(self) -> bool:
        return self.model.deleted_at is not None

    @strawberry.field(description="Live count of tickets in this stage (0 for deleted stages).")
    async def ticket_count(self, info: Info) -> int:
        if self.model.deleted_at is not None:
            return 0
        counts = await info.context.loaders.stage_counts.load(self.model.workspace_id)
        return counts.get(self.model.id, 0)


def stage_type(model: StageModel) -> Stage:
    return Stage(model=model)
