"""Statements on one pooled PostgreSQL connection, outside any transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from desk.sql import current_client, numbered

Fetch = Callable[..., Awaitable[Sequence[Mapping[str, Any]]]]


@asynccontextmanager
async def one_connection() -> AsyncIterator[Fetch]:
    """A fetch(sql, *params), with ? placeholders as desk.sql.fetch, that runs every statement
    of the block on one connection taken from the pool once. There is no transaction: each
    statement commits on its own. PostgreSQL only, and not inside a transaction.
    """
    async with current_client().acquire_connection() as connection:

        async def fetch(sql: str, *params: Any) -> Sequence[Mapping[str, Any]]:
            rows: Sequence[Mapping[str, Any]] = await connection.fetch(numbered(sql), *params)
            return rows

        yield fetch
