"""A few statements the ORM cannot express portably (RETURNING, joins for snapshots)."""

from __future__ import annotations

import functools
import itertools
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

from tortoise.connection import get_connection, get_connections

_QMARK = re.compile(r"\?")


def _is_postgres(connection: Any) -> bool:
    return "asyncpg" in type(connection).__module__ or "postgres" in type(connection).__module__


@functools.lru_cache(maxsize=256)
def numbered(sql: str) -> str:
    """PostgreSQL's $1, $2… for the ? placeholders (the statements are few and fixed)."""
    counter = itertools.count(1)
    return _QMARK.sub(lambda _: f"${next(counter)}", sql)


def _prepared(connection: Any, sql: str, params: tuple[Any, ...]) -> tuple[str, list[Any]]:
    if _is_postgres(connection):
        return numbered(sql), list(params)
    return sql, [str(p) if isinstance(p, uuid.UUID) else p for p in params]


async def fetch(sql: str, *params: Any) -> list[dict[str, Any]]:
    """Run SQL written with ? placeholders on the current connection (or transaction)."""
    connection = current_client()
    # execute_query_dict always fetches: asyncpg's execute_query drops the rows of
    # UPDATE/INSERT/DELETE ... RETURNING
    return await connection.execute_query_dict(*_prepared(connection, sql, params))


async def select(sql: str, *params: Any) -> Sequence[Mapping[str, Any]]:
    """Like fetch, for a SELECT, without copying each row into a dict (rows read by name)."""
    connection = current_client()
    _, rows = await connection.execute_query(*_prepared(connection, sql, params))
    return cast("Sequence[Mapping[str, Any]]", rows)


def current_client() -> Any:
    """The only configured connection, or the transaction open on it in this task."""
    (name,) = get_connections().db_config
    return get_connection(name)


def is_postgres() -> bool:
    return _is_postgres(current_client())
