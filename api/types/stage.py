from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

import strawberry

from api.context import Info
from api.types.enums import StageKind
from models import enums


class StageSource(Protocol):
    """A stage model, or a stage row read with a page of tickets."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def workspace_id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> enums.StageKind: ...
    @property
    def position(self) -> int: ...
    @property
    def auto_close(self) -> bool: ...
    @property
    def deleted_at(self) -> datetime | None: ...


@strawberry.type(description="Where a ticket is. System stages come first.")
class Stage:
    id: strawberry.ID
    name: str
    kind: StageKind
    position: int = strawberry.field(description="Display order; system stages first.")
    auto_close: bool = strawberry.field(
        description="False keeps tickets in this stage out of auto-close."
    )
    deleted: bool
    stage_id: strawberry.Private[uuid.UUID]
    workspace_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Live count of tickets in this stage (0 for deleted stages).")
    async def ticket_count(self, info: Info) -> int:
        if self.deleted:
            return 0
        counts = await info.context.loaders.stage_counts.load(self.workspace_id)
        return counts.get(self.stage_id, 0)

    @classmethod
    def from_model(cls, model: StageSource) -> Stage:
        return cls(
            id=strawberry.ID(str(model.id)),
            name=model.name,
            kind=model.kind,
            position=model.position,
            auto_close=model.auto_close,
            deleted=model.deleted_at is not None,
            stage_id=model.id,
            workspace_id=model.workspace_id,
        )
