"""Statements on one pooled PostgreSQL connection, outside any transaction."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from tortoise.connection import get_connection, get_connections

Fetch = Callable[..., Awaitable[Sequence[Mapping[str, Any]]]]
_QMARK = re.compile(r"\?")


@asynccontextmanager
async def one_connection() -> AsyncIterator[Fetch]:
    """A fetch(sql, *params), with ? placeholders as desk.sql.fetch, that runs every statement
    of the block on one connection taken from the pool once. There is no transaction: each
    statement commits on its own. PostgreSQL only, and not inside a transaction.
    """
    (name,) = get_connections().db_config
    client: Any = get_connection(name)
    async with client.acquire_connection() as connection:

        async def fetch(sql: str, *params: Any) -> Sequence[Mapping[str, Any]]:
            rows: Sequence[Mapping[str, Any]] = await connection.fetch(_numbered(sql), *params)
            return rows

        yield fetch


@functools.lru_cache(maxsize=64)
def _numbered(sql: str) -> str:
    """PostgreSQL's $1, $2… for the ? placeholders (the statements are few and fixed)."""
    counter = itertools.count(1)
    return _QMARK.sub(lambda _: f"${next(counter)}", sql)
