"""The fan-out baseline: raw Starlette websockets fed by one Redis subscription.

On every message of the workspace's counts channel it reads the counts snapshot with one
asyncpg statement and sends the same JSON text to every connected socket: the least a
hand-written service could do to push live counts. Run by bench.fanout with uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

WORKSPACE = uuid.UUID(os.environ.get("BENCH_WORKSPACE", str(uuid.UUID(int=0))))
DSN = os.environ.get("DATABASE_URL", "").replace("postgres://", "postgresql://", 1)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL = f"ts:ws:{WORKSPACE}:counts"

SNAPSHOT = (
    "SELECT w.counts_version AS version, s.id AS stage_id, s.name AS name, "
    "COALESCE(SUM(c.count), 0) AS count FROM workspace w "
    "JOIN stage s ON s.workspace_id = w.id AND s.deleted_at IS NULL "
    "LEFT JOIN stage_counter c ON c.stage_id = s.id "
    "WHERE w.id = $1 GROUP BY w.counts_version, s.id, s.name, s.position, s.created_at "
    "ORDER BY s.position, s.created_at"
)

sockets: set[WebSocket] = set()


async def _snapshot(pool: asyncpg.Pool) -> str:
    rows = await pool.fetch(SNAPSHOT, WORKSPACE)
    counts = [
        {"stage": {"id": str(r["stage_id"]), "name": r["name"]}, "count": int(r["count"])}
        for r in rows
    ]
    data = {
        "stageCounts": {
            "version": int(rows[0]["version"]) if rows else 0,
            "total": sum(c["count"] for c in counts),
            "channel": None,
            "counts": counts,
        }
    }
    return json.dumps({"id": "1", "type": "next", "payload": {"data": data}})


async def _relay(pool: asyncpg.Pool) -> None:
    redis = Redis.from_url(REDIS_URL)
    pubsub = redis.pubsub()
    await pubsub.subscribe(CHANNEL)
    try:
        async for message in pubsub.listen():
            if message["type"] != "message" or not sockets:
                continue
            text = await _snapshot(pool)
            for websocket in list(sockets):
                with contextlib.suppress(Exception):
                    await websocket.send_text(text)
    finally:
        await pubsub.aclose()
        await redis.aclose()


async def subscriber(websocket: WebSocket) -> None:
    await websocket.accept()
    sockets.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(websocket)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(DSN, min_size=1, max_size=4)
    relay = asyncio.create_task(_relay(pool))
    try:
        yield
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        await pool.close()


app = Starlette(routes=[WebSocketRoute("/ws", subscriber)], lifespan=lifespan)
