"""A few statements the ORM cannot express portably (RETURNING, joins for snapshots)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tortoise.connection import get_connection, get_connections

_QMARK = re.compile(r"\?")


def _is_postgres(connection: Any) -> bool:
    return "asyncpg" in type(connection).__module__ or "postgres" in type(connection).__module__


async def fetch(sql: str, *params: Any) -> list[dict[str, Any]]:
    """Run SQL written with ? placeholders on the current connection (or transaction)."""
    connection = _current()
    if _is_postgres(connection):
        counter = iter(range(1, len(params) + 1))
        sql = _QMARK.sub(lambda _: f"${next(counter)}", sql)
        values = list(params)
    else:
        values = [str(p) if isinstance(p, uuid.UUID) else p for p in params]
    # execute_query_dict always fetches: asyncpg's execute_query drops the rows of
    # UPDATE/INSERT/DELETE ... RETURNING
    return await connection.execute_query_dict(sql, values)


def _current() -> Any:
    """The only configured connection, or the transaction open on it in this task."""
    (name,) = get_connections().db_config
    return get_connection(name)


def is_postgres() -> bool:
    return _is_postgres(_current())
