"""A graphql-transport-ws client for the live tests (tests.support.ws.serve serves the app)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

PROTOCOL = Subprotocol("graphql-transport-ws")

COUNTS = "version total channel counts { stage { id name } count }"


class LiveSocket:
    """One graphql-transport-ws connection; messages are sorted by operation id as they come."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._ids = itertools.count(1)
        self._inbox: dict[str, asyncio.Queue[dict[str, Any]]] = defaultdict(asyncio.Queue)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, base_url: str, key: str | None, *, origin: str | None = None
    ) -> AsyncIterator[LiveSocket]:
        """Connected and acknowledged with `Authorization: Bearer <key>` in connection_init."""
        async with cls.connect(base_url, origin=origin) as live:
            await live.init(key)
            ack = await live.message("")
            assert ack["type"] == "connection_ack", ack
            yield live

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, base_url: str, *, origin: str | None = None
    ) -> AsyncIterator[LiveSocket]:
        headers = {"Origin": origin} if origin else None
        async with connect(
            base_url + "/graphql", subprotocols=[PROTOCOL], additional_headers=headers
        ) as connection:
            live = cls(connection)
            try:
                yield live
            finally:
                live._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await live._reader

    async def init(self, key: str | None) -> None:
        payload = {"authorization": f"Bearer {key}"} if key else {}
        await self.send({"type": "connection_init", "payload": payload})

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.connection:
                message = json.loads(raw)
                if message["type"] == "ping":
                    await self.send({"type": "pong"})
                elif message["type"] != "pong":
                    self._inbox[str(message.get("id", ""))].put_nowait(message)

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def message(self, operation_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of an operation ("" for connection messages)."""
        async with asyncio.timeout(timeout):
            return await self._inbox[operation_id].get()

    def pending(self, operation_id: str) -> int:
        return self._inbox[operation_id].qsize()

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})
        return operation_id

    async def next(self, operation_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The data of the operation's next `next` message; anything else fails the test."""
        message = await self.message(operation_id, timeout)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def complete(self, operation_id: str) -> None:
        await self.send({"id": operation_id, "type": "complete"})

    async def closed_with(self, timeout: float = 5.0) -> int | None:
        """Wait until the server closes the socket; its close code."""
        async with asyncio.timeout(timeout):
            await self.connection.wait_closed()
        return self.connection.close_code


async def counts_of(live: LiveSocket, operation_id: str, timeout: float = 5.0) -> dict[str, Any]:
    return (await live.next(operation_id, timeout))["stageCounts"]
