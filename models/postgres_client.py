"""Tortoise's asyncpg client, with a transaction that gives its connection back when BEGIN fails.

Tortoise 1.1's pooled transaction context acquires a connection, then sends BEGIN; if BEGIN
fails (the server went away between the two) ``__aexit__`` never runs, so the connection is
never released and the pool shrinks by one for good: after a few database restarts every
request waits forever for a connection. This context releases it.
"""

from __future__ import annotations

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionalDBClient, TransactionContextPooled
from tortoise.connection import get_connections


class _ReleasingTransactionContext(TransactionContextPooled):
    async def __aenter__(self) -> TransactionalDBClient:
        try:
            return await super().__aenter__()
        except BaseException:
            connection = getattr(self.client, "_connection", None)
            pool = self.client._parent._pool
            if connection is not None and pool is not None:
                await pool.release(connection)
            token = getattr(self, "token", None)
            if token is not None:
                get_connections().reset(token)
            raise


class AsyncpgClient(AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContextPooled:
        return _ReleasingTransactionContext(TransactionWrapper(self), self._pool_init_lock)


client_class = AsyncpgClient  # what Tortoise looks for in an "engine" module
