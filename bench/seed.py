"""Realistic data, loaded fast: a workspace made by the service, tickets and transitions by COPY."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from desk.access import Actor
from desk.service import Desk
from desk.stages import create_stage
from desk.workspaces import create_workspace
from models import ApiKey, Channel, Role, Stage
from models.database import migrate, open_database

CHANNELS = [c.value for c in Channel]
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Workspace:
    id: str
    key: str
    stages: dict[str, str]  # name -> id
    kinds: dict[str, str]  # id -> kind


def pg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def create(database_url: str, name: str = "Bench store") -> Workspace:
    async with open_database(database_url, pool_size=2) as ctx:
        await migrate(ctx)
        desk = Desk()
        workspace, secret = await create_workspace(desk, name)
        key = await ApiKey.get(workspace_id=workspace.id)
        admin = Actor(workspace_id=workspace.id, api_key_id=key.id, name=key.name, role=Role.ADMIN)
        for stage_name in ("Assigned", "In progress", "Pending", "Resolved"):
            await create_stage(desk, admin, stage_name, None, True)
        stages = await Stage.filter(workspace_id=workspace.id)
        return Workspace(
            id=str(workspace.id),
            key=secret,
            stages={s.name: str(s.id) for s in stages},
            kinds={str(s.id): s.kind.value for s in stages},
        )


async def tickets(
    database_url: str,
    workspace: Workspace,
    count: int,
    *,
    transitions_per_ticket: int = 1,
    seed: int = 7,
) -> list[str]:
    """`count` tickets spread over the live stages and channels, each with its history."""
    rng = random.Random(seed)
    open_id = workspace.stages["Open"]
    movable = [
        sid for sid, kind in workspace.kinds.items() if kind in ("OPEN", "CLOSED", "INTERMEDIATE")
    ]
    ticket_rows = []
    transition_rows = []
    ids = []
    for n in range(count):
        ticket_id = uuid.uuid4()
        ids.append(str(ticket_id))
        channel = CHANNELS[n % len(CHANNELS)]
        created = START + timedelta(seconds=n * 13)
        stage = open_id
        at = created
        transition_rows.append(
            (
                uuid.UUID(workspace.id),
                ticket_id,
                channel,
                None,
                uuid.UUID(open_id),
                "CREATED",
                "bench",
                at,
                None,
            )
        )
        for _ in range(transitions_per_ticket - 1):
            target = rng.choice([s for s in movable if s != stage])
            stay = timedelta(minutes=rng.randint(1, 600))
            at = at + stay
            transition_rows.append(
                (
                    uuid.UUID(workspace.id),
                    ticket_id,
                    channel,
                    uuid.UUID(stage),
                    uuid.UUID(target),
                    "MANUAL",
                    "bench",
                    at,
                    stay // timedelta(microseconds=1),
                )
            )
            stage = target
        kind = workspace.kinds[stage]
        closed = at if kind == "CLOSED" else None
        anchor = None if kind == "CLOSED" else int(at.timestamp() * 1_000_000)
        due = None if anchor is None else anchor + 3 * 86_400_000_000
        ticket_rows.append(
            (
                ticket_id,
                uuid.UUID(workspace.id),
                f"customer-{n % max(1, count // 3)}",
                channel,
                f"Order #{n}",
                uuid.UUID(stage),
                kind,
                transitions_per_ticket,
                created,
                at,
                None,
                at,
                anchor,
                due,
                None,
                False,
                True,
                closed,
                at,
            )
        )
    conn = await asyncpg.connect(pg_dsn(database_url))
    try:
        await conn.copy_records_to_table(
            "ticket",
            records=ticket_rows,
            columns=[
                "id",
                "workspace_id",
                "customer_id",
                "channel",
                "subject",
                "stage_id",
                "stage_kind",
                "version",
                "created_at",
                "updated_at",
                "last_customer_message_at",
                "period_started_at",
                "auto_close_anchor_us",
                "auto_close_due_us",
                "snoozed_until",
                "snoozed_until_reply",
                "wake_on_customer_reply",
                "closed_at",
                "stage_entered_at",
            ],
        )
        await conn.copy_records_to_table(
            "stage_transition",
            records=transition_rows,
            columns=[
                "workspace_id",
                "ticket_id",
                "channel",
                "from_stage_id",
                "to_stage_id",
                "source",
                "actor",
                "at",
                "stay_us",
            ],
        )
        await recount(conn, workspace.id)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return ids


async def recount(conn: asyncpg.Connection, workspace_id: str) -> None:
    """Counters from the tickets table, as the service would have maintained them."""
    await conn.execute(
        """
        UPDATE stage_counter c SET count = COALESCE(t.n, 0)
        FROM stage_counter c2
        LEFT JOIN (SELECT stage_id, channel, count(*) AS n FROM ticket WHERE workspace_id = $1
                   GROUP BY stage_id, channel) t
          ON t.stage_id = c2.stage_id AND t.channel = c2.channel
        WHERE c.id = c2.id AND c.workspace_id = $1
        """,
        uuid.UUID(workspace_id),
    )
    await conn.execute(
        "UPDATE workspace SET counts_version = counts_version + 1 WHERE id = $1",
        uuid.UUID(workspace_id),
    )


async def settle(database_url: str) -> None:
    """Vacuum and checkpoint after a bulk load, so measurements do not meet that work."""
    conn = await asyncpg.connect(pg_dsn(database_url))
    try:
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
