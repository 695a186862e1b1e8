"""A websocket opened while PostgreSQL is down is closed with 1013 (try again later)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from api.unavailable import TRY_AGAIN_LATER
from subscriptions.inprocess import InProcessBus
from tests.conftest import new_workspace
from tests.support.postgres_server import PostgresServer
from tests.support.ws import PROTOCOL, GraphQLWebSocket, serve
from ticket_stages.settings import Settings

COUNTS = "subscription { stageCounts { total } }"


@pytest.fixture
async def app(private_database_url: str, tmp_path: Path) -> AsyncIterator[Starlette]:
    settings = Settings(database_url=private_database_url, reports_dir=tmp_path / "reports")
    application = create_app(settings, bus=InProcessBus())
    async with application.router.lifespan_context(application):
        yield application


async def close_code_of_init(base_url: str, key: str) -> int | None:
    """Open a socket, send connection_init, and return the close code the server chose."""
    async with connect(base_url + "/graphql", subprotocols=[PROTOCOL]) as connection:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}}
        await connection.send(json.dumps(init))
        try:
            async with asyncio.timeout(5):
                while True:
                    await connection.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None


async def test_a_socket_during_the_outage_is_told_to_retry(
    app: Starlette, postgres_server: PostgresServer
) -> None:
    _, key = await new_workspace(app)
    async with serve(app) as base_url:
        await asyncio.to_thread(postgres_server.stop)
        try:
            assert await close_code_of_init(base_url, key) == TRY_AGAIN_LATER
        finally:
            await asyncio.to_thread(postgres_server.start)
        # the same server accepts sockets again, and their subscriptions work
        async with GraphQLWebSocket.open(base_url, key) as live:
            operation = await live.subscribe(COUNTS)
            async for payload in live.results(operation):
                assert payload["data"]["stageCounts"]["total"] == 0
                break
