"""Opening the database and bringing its schema up to date (Tortoise's built-in migrations)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
from tortoise.context import TortoiseContext, _current_context
from tortoise.migrations.executor import MigrationExecutor

MODEL_MODULES = ["models.workspace", "models.stage", "models.ticket", "models.report"]
APP_LABEL = "models"
CONNECT_TIMEOUT_SECONDS = 5.0


class PooledConnection(asyncpg.Connection):
    """A pooled connection released without asyncpg's reset round trip.

    The service keeps no session state (no LISTEN, session SET or session advisory lock),
    so resetting on every release would only add a round trip to every query; an open
    transaction is still rolled back by asyncpg before the connection is reused.
    """

    def get_reset_query(self) -> str:
        return ""


def tortoise_config(database_url: str, *, pool_size: int = 20) -> dict[str, Any]:
    """The Tortoise configuration for a DATABASE_URL, with a pool sized for the service."""
    if database_url.startswith(("postgres://", "asyncpg://")):
        _, rest = database_url.split("://", 1)
        credentials = {}
        auth, _, location = rest.rpartition("@")
        host_port, _, database = location.partition("/")
        database, _, _ = database.partition("?")
        host, _, port = host_port.partition(":")
        user, _, password = auth.partition(":")
        credentials = {
            "host": host or "127.0.0.1",
            "port": int(port or 5432),
            "user": user or "postgres",
            "password": password or None,
            "database": database or "postgres",
            "minsize": min(4, pool_size),
            "maxsize": pool_size,
            "connection_class": PooledConnection,
            # an unreachable server fails a request in seconds instead of asyncpg's 60 s
            "timeout": CONNECT_TIMEOUT_SECONDS,
        }
        connection: dict[str, Any] = {
            "engine": "models.postgres_client",
            "credentials": credentials,
        }
    else:
        path = database_url.split("://", 1)[1]
        connection = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": path,
                "journal_mode": "WAL",
                "foreign_keys": "ON",
                # a second process (serve --no-worker beside a worker) waits for the lock
                "busy_timeout": 5000,
            },
        }
    # Tortoise caches compiled INSERTs by connection name, not by dialect: naming the connection
    # after its dialect keeps SQLite and PostgreSQL apart when both are used in one process.
    name = connection_name(database_url)
    return {
        "connections": {name: connection},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": name,
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgres://", "asyncpg://"))


def connection_name(database_url: str) -> str:
    return "postgres" if is_postgres(database_url) else "sqlite"


@asynccontextmanager
async def open_database(
    database_url: str, *, pool_size: int = 20, create: bool = False
) -> AsyncIterator[TortoiseContext]:
    """An initialised Tortoise context, active for the current task; closed on exit."""
    ctx = TortoiseContext()
    async with ctx:
        await ctx.init(config=tortoise_config(database_url, pool_size=pool_size), _create_db=create)
        yield ctx


async def migrate(ctx: TortoiseContext) -> None:
    """Apply every migration not yet applied (idempotent)."""
    connection = ctx.db()
    config = {
        label: {**app, "default_connection": connection.connection_name}
        for label, app in tortoise_config("sqlite://:memory:")["apps"].items()
    }
    executor = MigrationExecutor(connection, config)
    await executor.migrate()


@contextmanager
def activate(ctx: TortoiseContext) -> Iterator[None]:
    """Make `ctx` the current Tortoise context for the running task (e.g. one request).

    TortoiseContext's own ``with`` keeps a single token on the instance, so it cannot be
    entered by many concurrent requests; a token per entry can.
    """
    token = _current_context.set(ctx)
    try:
        yield
    finally:
        _current_context.reset(token)
