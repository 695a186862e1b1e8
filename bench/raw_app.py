"""The baseline: raw Starlette endpoints doing the same work without GraphQL or our layers."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

WORKSPACE = uuid.UUID(os.environ.get("BENCH_WORKSPACE", str(uuid.UUID(int=0))))
DSN = os.environ.get("DATABASE_URL", "").replace("postgres://", "postgresql://", 1)
COUNTS_FILE = os.environ.get("BENCH_COUNTS_FILE")
pool: asyncpg.Pool | None = None


async def counts(request: Request) -> Response:
    assert COUNTS_FILE is not None
    return Response(_COUNTS, media_type="application/json")


async def tickets(request: Request) -> Response:
    assert pool is not None
    rows = await pool.fetch(
        "SELECT id, customer_id, channel, subject, stage_id, version, created_at, updated_at "
        "FROM ticket WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50",
        WORKSPACE,
    )
    edges = [
        {
            "node": {
                "id": str(r["id"]),
                "customerId": r["customer_id"],
                "channel": r["channel"],
                "subject": r["subject"],
                "stage": {"id": str(r["stage_id"])},
                "version": r["version"],
                "createdAt": r["created_at"].isoformat(),
                "updatedAt": r["updated_at"].isoformat(),
            }
        }
        for r in rows
    ]
    return Response(
        json.dumps({"data": {"tickets": {"edges": edges}}}), media_type="application/json"
    )


async def move(request: Request) -> Response:
    """The three statements of a stage change in one transaction."""
    assert pool is not None
    body = await request.json()
    ticket_id, stage_id = uuid.UUID(body["ticketId"]), uuid.UUID(body["stageId"])
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE ticket t SET stage_id = $2, version = t.version + 1, updated_at = $3 "
            "FROM ticket old WHERE t.id = $1 AND old.id = t.id "
            "RETURNING old.stage_id AS from_stage, t.channel, t.version",
            ticket_id,
            stage_id,
            datetime.now(UTC),
        )
        await conn.execute(
            "INSERT INTO stage_transition (workspace_id, ticket_id, channel, from_stage_id, "
            "to_stage_id, source, actor, at) "
            "VALUES ($1, $2, $3, $4, $5, 'MANUAL', 'raw', $6)",
            WORKSPACE,
            ticket_id,
            row["channel"],
            row["from_stage"],
            stage_id,
            datetime.now(UTC),
        )
        # the two counter rows are locked in one fixed order, or opposite moves deadlock
        await conn.execute(
            "UPDATE stage_counter c SET count = c.count + "
            "CASE WHEN c.stage_id = $1 THEN -1 ELSE 1 END "
            "FROM (SELECT id FROM stage_counter WHERE stage_id IN ($1, $2) AND channel = $3 "
            "ORDER BY id FOR UPDATE) locked WHERE c.id = locked.id",
            row["from_stage"],
            stage_id,
            row["channel"],
        )
    return Response(
        json.dumps({"data": {"version": row["version"]}}), media_type="application/json"
    )


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool, _COUNTS
    _COUNTS = Path(COUNTS_FILE).read_bytes() if COUNTS_FILE else b"{}"  # noqa: ASYNC240 - at start
    pool = await asyncpg.create_pool(DSN, min_size=4, max_size=20) if DSN else None
    try:
        yield
    finally:
        if pool is not None:
            await pool.close()


_COUNTS = b"{}"
app = Starlette(
    routes=[
        Route("/counts", counts, methods=["POST", "GET"]),
        Route("/tickets", tickets, methods=["POST", "GET"]),
        Route("/move", move, methods=["POST"]),
    ],
    lifespan=lifespan,
)
