"""Whether the database answers, for readiness checks, and which errors mean it did not."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket

import asyncpg
from tortoise.exceptions import DBConnectionError

from desk.sql import fetch

logger = logging.getLogger(__name__)

# the server is gone, going or not yet back: the same request may succeed a moment later
_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # connecting took longer than the connect timeout
    socket.gaierror,  # the host name does not resolve
    DBConnectionError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and "connection was closed"
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,  # starting up or shutting down
)
# network errors that reach us as a plain OSError (not a file error: those are no outage)
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}


async def database_reachable(within: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(fetch("SELECT 1 AS ok"), within)
        return True
    except Exception as error:  # any failure means "not ready"; the reason goes to the log
        logger.warning("database readiness check failed: %s", type(error).__name__)
        return False


def is_database_outage(error: BaseException) -> bool:
    """True when `error`, or an error that led to it, means the database was unreachable.

    A failed rollback on a dropped connection raises its own error whose cause is the drop,
    so the whole chain is looked at, not only the last error.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _OUTAGE_ERRORS):
            return True
        if isinstance(current, OSError) and current.errno in _UNREACHABLE:
            return True
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True
        if isinstance(current, asyncpg.InternalClientError) and "another operation" in str(current):
            # the server's goodbye arrived, the closed socket not yet: the connection is dying
            return True
        current = current.__cause__ or current.__context__
    return False
