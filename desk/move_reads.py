"""Reading a ticket for a stage change, with what the change needs, in one statement."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from desk.moves import Policy, StageRef
from desk.one_connection import Fetch
from desk.sql import fetch, is_postgres
from models import ClosedReplyPolicy, StageKind, Ticket, Workspace


@dataclass(frozen=True, slots=True)
class Target:
    """The columns of a live stage that a move to it needs."""

    id: uuid.UUID
    kind: StageKind
    auto_close: bool


@dataclass(frozen=True, slots=True)
class ReadForMove:
    ticket: Ticket
    target: StageRef
    policy: Policy
    row_version: int | None = None  # the ticket's xmin, when read without locks


_SELECT = (
    "SELECT t.*{version}, w.auto_close_enabled AS w_auto_close_enabled, "
    "w.auto_close_seconds AS w_auto_close_seconds, "
    "w.auto_close_seconds_by_channel AS w_auto_close_seconds_by_channel, "
    "w.closed_reply_policy AS w_closed_reply_policy, "
    "s.kind AS s_kind, s.auto_close AS s_auto_close "
    "FROM workspace w JOIN stage s ON s.workspace_id = w.id "
    "JOIN ticket t ON t.workspace_id = w.id "
    "WHERE w.id = ? AND s.id = ? AND s.deleted_at IS NULL AND t.id = ?"
)
_PORTABLE = _SELECT.format(version="")
# PostgreSQL takes row locks in the order of the locking clauses: workspace, stage, ticket
_LOCKED_POSTGRES = _PORTABLE + " FOR KEY SHARE OF w, s FOR UPDATE OF t"
_UNLOCKED_POSTGRES = _SELECT.format(version=", t.xmin AS t_row_version")
_BY_CHANNEL = Workspace._meta.fields_map["auto_close_seconds_by_channel"]


def unlocked_moves() -> bool:
    """Whether a move can be read without locks and written if nothing changed (PostgreSQL)."""
    return is_postgres()


async def read_for_move(
    workspace_id: uuid.UUID,
    ticket_id: uuid.UUID | None,
    stage_id: uuid.UUID | None,
    *,
    lock: bool = True,
    runner: Fetch = fetch,
) -> ReadForMove | None:
    """The ticket with its workspace's settings and the live stage `stage_id`.

    None when the ticket or the live stage is not in the workspace. Locked (in the caller's
    transaction): on PostgreSQL the workspace row is share-locked first, as hold_for_moves
    does, so an admin's change that holds it is waited for before the ticket is locked; then
    the stage, then the ticket. A lock that had to wait reads its row's latest committed
    version (and checks it again: a stage deleted meanwhile matches no more), so the settings
    and the stage are those in force once the locks are held, and stay so until commit.
    Unlocked (PostgreSQL only, see unlocked_moves): a snapshot with the ticket's row version,
    for move_one(if_unchanged_since=...). `runner` runs the statement (by default on the
    current connection or transaction).
    """
    if ticket_id is None or stage_id is None:
        return None
    if not lock:
        sql = _UNLOCKED_POSTGRES
    else:
        sql = _LOCKED_POSTGRES if is_postgres() else _PORTABLE
    rows = await runner(sql, workspace_id, stage_id, ticket_id)
    if not rows:
        return None
    row = rows[0]
    return ReadForMove(
        ticket=Ticket._init_from_db(**row),
        target=Target(stage_id, StageKind(row["s_kind"]), bool(row["s_auto_close"])),
        policy=_policy(row),
        row_version=None if lock else int(row["t_row_version"]),
    )


def _policy(row: Mapping[str, Any]) -> Policy:
    return Policy(
        auto_close_enabled=bool(row["w_auto_close_enabled"]),
        auto_close_seconds=int(row["w_auto_close_seconds"]),
        auto_close_seconds_by_channel=dict(
            _BY_CHANNEL.to_python_value(row["w_auto_close_seconds_by_channel"])
        ),
        closed_reply_policy=ClosedReplyPolicy(row["w_closed_reply_policy"]),
    )
