"""Real websockets for tests: the app served over TCP by uvicorn, a graphql-transport-ws client."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` (its lifespan already open) on a free local port; yields "ws://host:port"."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(5):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.005)
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class GraphQLWebSocket:
    """One graphql-transport-ws connection; answers server pings itself."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._ids = itertools.count(1)

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, base_url: str, key: str | None, path: str = "/graphql"
    ) -> AsyncIterator[GraphQLWebSocket]:
        """Connected and initialised with `Authorization: Bearer <key>` in connection_init."""
        async with connect(base_url + path, subprotocols=[PROTOCOL]) as connection:  # type: ignore[list-item]
            socket_ = cls(connection)
            payload = {"authorization": f"Bearer {key}"} if key else {}
            await socket_.send({"type": "connection_init", "payload": payload})
            message = await socket_.receive()
            assert message["type"] == "connection_ack", message
            yield socket_

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, seconds: float = 5.0) -> dict[str, Any]:
        """The next message other than ping/pong."""
        async with asyncio.timeout(seconds):
            while True:
                message: dict[str, Any] = json.loads(await self.connection.recv())
                if message["type"] == "ping":
                    await self.send({"type": "pong"})
                    continue
                if message["type"] != "pong":
                    return message

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        await self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
        return operation_id

    async def results(
        self, operation_id: str, seconds: float = 5.0
    ) -> AsyncIterator[dict[str, Any]]:
        """Every `next` payload of the operation until `complete`; an `error` fails the test."""
        while True:
            message = await self.receive(seconds)
            if message.get("id") != operation_id:
                continue
            if message["type"] == "complete":
                return
            assert message["type"] == "next", message
            yield message["payload"]
