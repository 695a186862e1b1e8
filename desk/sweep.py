"""What the background sweeps share: locking a batch of due rows, the batch's context, draining."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desk.moves import LockedRow, Policy, policy_of
from desk.sql import fetch, is_postgres
from models import Stage, StageKind, Workspace

DEFAULT_BATCH_SIZE = 5000
DEFAULT_LANES = 2

_LOCKED_COLUMNS = (
    "id, workspace_id, channel, stage_id, stage_kind, version, period_started_at, "
    "last_customer_message_at, auto_close_anchor_us, stage_entered_at"
)


async def lock_due_rows(
    where: str, order_by: str, params: Sequence[Any], limit: int
) -> list[LockedRow]:
    """The first `limit` tickets matching `where`, locked for this transaction.

    On PostgreSQL their workspaces are share-locked first (see _hold_workspaces); rows locked
    by another transaction are skipped (another sweeper or an agent has them), and a row
    changed since the statement began is re-checked against `where`. SQLite serialises
    transactions, so there the plain read is already exclusive.
    """
    if not is_postgres():
        records = await fetch(
            f"SELECT {_LOCKED_COLUMNS} FROM ticket WHERE {where} ORDER BY {order_by} LIMIT ?",
            *params,
            limit,
        )
        return [_row_from_sqlite(record) for record in records]
    workspace_ids = await _hold_workspaces(where, order_by, params, limit)
    if not workspace_ids:
        return []
    records = await fetch(
        f"SELECT {_LOCKED_COLUMNS} FROM ticket WHERE {where} AND workspace_id = ANY(?::uuid[]) "
        f"ORDER BY {order_by} LIMIT ? FOR UPDATE SKIP LOCKED",
        *params,
        workspace_ids,
        limit,
    )
    return [_row_from_postgres(record) for record in records]


async def _hold_workspaces(
    where: str, order_by: str, params: Sequence[Any], limit: int
) -> list[uuid.UUID]:
    """Share-lock the workspaces of the due tickets before locking any ticket.

    An admin's change (settings, stages) locks its workspace first and its tickets after;
    taking the workspace first too, in a mode that lets agents' moves and other sweepers
    through, means the sweep waits for such a change instead of deadlocking with it.
    """
    due = await fetch(
        f"SELECT DISTINCT workspace_id FROM (SELECT workspace_id FROM ticket WHERE {where} "
        f"ORDER BY {order_by} LIMIT ?) AS due",
        *params,
        limit,
    )
    if not due:
        return []
    held = await fetch(
        "SELECT id FROM workspace WHERE id = ANY(?::uuid[]) ORDER BY id FOR KEY SHARE",
        [row["workspace_id"] for row in due],
    )
    return [row["id"] for row in held]


_KINDS = {kind.value: kind for kind in StageKind}


def _row_from_postgres(record: dict[str, Any]) -> LockedRow:
    # asyncpg returns typed values already
    return LockedRow(
        record["id"],
        record["workspace_id"],
        record["channel"],
        record["stage_id"],
        _KINDS[record["stage_kind"]],
        record["version"],
        record["period_started_at"],
        record["last_customer_message_at"],
        record["auto_close_anchor_us"],
        record["stage_entered_at"],
    )


def _row_from_sqlite(record: dict[str, Any]) -> LockedRow:
    # SQLite keeps Tortoise's text forms of UUIDs and datetimes
    last_message = record["last_customer_message_at"]
    entered = record["stage_entered_at"]
    return LockedRow(
        uuid.UUID(record["id"]),
        uuid.UUID(record["workspace_id"]),
        record["channel"],
        uuid.UUID(record["stage_id"]),
        _KINDS[record["stage_kind"]],
        record["version"],
        datetime.fromisoformat(record["period_started_at"]),
        None if last_message is None else datetime.fromisoformat(last_message),
        record["auto_close_anchor_us"],
        None if entered is None else datetime.fromisoformat(entered),
    )


@dataclass(frozen=True)
class WorkspaceRules:
    """The current settings and stages of the workspaces a batch touches."""

    policies: dict[uuid.UUID, Policy]
    stages: dict[uuid.UUID, Stage]

    def system_stages(self, kind: StageKind) -> dict[uuid.UUID, Stage]:
        return {
            stage.workspace_id: stage
            for stage in self.stages.values()
            if stage.kind is kind and stage.deleted_at is None
        }


async def load_rules(workspace_ids: set[uuid.UUID]) -> WorkspaceRules:
    ids = sorted(workspace_ids, key=str)
    workspaces = await Workspace.filter(id__in=ids)
    stages = await Stage.filter(workspace_id__in=ids)
    return WorkspaceRules(
        policies={w.id: policy_of(w) for w in workspaces},
        stages={s.id: s for s in stages},
    )


@dataclass(frozen=True)
class BatchOutcome:
    selected: int  # rows locked by this batch
    acted: int  # tickets moved
    repaired: int  # tickets whose schedule was corrected instead


StopCheck = Callable[[], bool]


def never_stop() -> bool:
    return False


async def drain(
    run_batch: Callable[[], Awaitable[BatchOutcome]],
    batch_size: int,
    stop: StopCheck,
    lanes: int = 1,
) -> int:
    """Run batches until nothing due is left (or a stop is asked for); returns the tickets moved.

    A batch that selected fewer rows than it could took everything not locked elsewhere; a
    batch that changed nothing (every row stale) ends the lane rather than spinning on it.
    On PostgreSQL `lanes` batches run at once, each in its own transaction on its own
    connection (rows locked by one lane are skipped by the others), so one lane's Python work
    overlaps another's database work. SQLite runs one transaction at a time: one lane.
    """
    if batch_size < 1 or lanes < 1:
        raise ValueError("batch_size and lanes must be at least 1")

    async def lane() -> int:
        total = 0
        while True:
            outcome = await run_batch()
            total += outcome.acted
            if outcome.selected < batch_size or outcome.acted + outcome.repaired == 0 or stop():
                return total

    if lanes == 1 or not is_postgres():
        return await lane()
    # every lane ends its batch in flight (commit or roll back) before the first error is raised
    results = await asyncio.gather(*(lane() for _ in range(lanes)), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return sum(r for r in results if isinstance(r, int))
