"""Which errors count as a database outage (a 503 and a retry) and which do not (a bug)."""

from __future__ import annotations

import errno

import asyncpg
import pytest

from desk.health import is_database_outage


def _raised_while_handling(first: BaseException, second: BaseException) -> BaseException:
    try:
        try:
            raise first
        except BaseException:
            raise second  # noqa: B904 - the implicit context is what is under test
    except BaseException as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        TimeoutError(),
        OSError(errno.EHOSTUNREACH, "No route to host"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.InterfaceError(
            "cannot call Transaction.rollback(): the underlying connection is closed"
        ),
        # the rollback after a dropped connection fails too; its context is the drop
        _raised_while_handling(
            asyncpg.ConnectionDoesNotExistError("connection was closed"),
            RuntimeError("rollback failed"),
        ),
    ],
    ids=repr,
)
def test_outages(error: BaseException) -> None:
    assert is_database_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError(errno.ENOENT, "No such file or directory"),
        PermissionError(errno.EACCES, "Permission denied"),
        ValueError("bad value"),
        ZeroDivisionError(),
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        _raised_while_handling(KeyError("x"), RuntimeError("y")),
    ],
    ids=repr,
)
def test_not_outages(error: BaseException) -> None:
    assert not is_database_outage(error)
