from __future__ import annotations

import strawberry

from api.types.stage import Stage
from api.types.ticket import StageTransition, Ticket
from desk.backdated import StageDurationView


@strawberry.type(description="Time spent in one stage by the stays that ended inside a window.")
class StageDuration:
    stage: Stage
    exits: int = strawberry.field(description="Transitions out of this stage inside the window.")
    average_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def from_view(cls, view: StageDurationView) -> StageDuration:
        return cls(
            stage=Stage.from_model(view.stage),
            exits=view.exits,
            average_seconds=view.average_seconds,
            median_seconds=view.median_seconds,
            p90_seconds=view.p90_seconds,
        )


@strawberry.type(description="One transition, with the ticket it moved.")
class StageChange:
    ticket: Ticket
    transition: StageTransition
