"""Per-request batching: one query per list, never one per row."""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from desk.counters import read_counts
from models import Stage, StageTransition


async def _load_stages(ids: Sequence[uuid.UUID]) -> list[Stage | None]:
    found = {s.id: s for s in await Stage.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]


async def _load_histories(ticket_ids: Sequence[uuid.UUID]) -> list[list[StageTransition]]:
    grouped: dict[uuid.UUID, list[StageTransition]] = defaultdict(list)
    for transition in await StageTransition.filter(ticket_id__in=list(ticket_ids)).order_by("id"):
        grouped[transition.ticket_id].append(transition)
    return [grouped.get(i, []) for i in ticket_ids]


async def _load_stage_counts(workspace_ids: Sequence[uuid.UUID]) -> list[dict[uuid.UUID, int]]:
    return [(await read_counts(w)).by_stage for w in workspace_ids]


class Loaders:
    """The loaders of one request, each made when first used (most requests use none)."""

    @functools.cached_property
    def stage(self) -> DataLoader[uuid.UUID, Stage | None]:
        return DataLoader(_load_stages)

    @functools.cached_property
    def history(self) -> DataLoader[uuid.UUID, list[StageTransition]]:
        return DataLoader(_load_histories)

    @functools.cached_property
    def stage_counts(self) -> DataLoader[uuid.UUID, dict[uuid.UUID, int]]:
        return DataLoader(_load_stage_counts)
