"""The rows of a customer ticket report: which tickets, which columns, and how cells are written.

Two writers produce the same cells: `desk.report_copy` streams them out of PostgreSQL with COPY;
this module reads them in keyset chunks by (created_at, id) and formats them in Python (SQLite,
which has no COPY). The transition count of a ticket is its `version`: it starts at 1 with the
CREATED transition and grows by one with every transition after it (product.md), so it equals
the length of the ticket's history without reading the history.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from desk.csv_safety import neutralise
from desk.sql import fetch, is_postgres
from models import Channel

HEADER = (
    "Ticket ID",
    "Customer ID",
    "Channel",
    "Stage",
    "Created at",
    "Closed at",
    "Last customer message at",
    "Transitions",
    "Customer chats in range",
)


@dataclass(frozen=True)
class ReportScope:
    """The tickets a report covers: created in [start, end) (UTC), optionally on one channel.

    `end` is also capped at the moment generation started, so every chunk, and every customer's
    count of chats, sees the same set of tickets however long generation takes.
    """

    workspace_id: uuid.UUID
    start: datetime
    end: datetime
    channel: Channel | None
    zone: ZoneInfo


def day_bounds(start_date: date, end_date: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where start_date begins and the day after end_date begins, in `zone`."""
    start = datetime.combine(start_date, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(end_date + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def report_scope(
    workspace_id: uuid.UUID,
    start_date: date,
    end_date: date,
    channel: Channel | None,
    timezone: str,
    as_of: datetime,
) -> ReportScope:
    zone = ZoneInfo(timezone)
    start, end = day_bounds(start_date, end_date, zone)
    # tickets created up to and including `as_of`
    end = min(end, as_of.astimezone(UTC) + timedelta(microseconds=1))
    return ReportScope(workspace_id, start, max(start, end), channel, zone)


Cursor = tuple[Any, Any]  # (created_at, id) of the last row written, as the database returned them


def _db_time(moment: datetime, postgres: bool) -> datetime | str:
    # SQLite keeps Tortoise datetimes as UTC text ("2026-01-05 09:00:00.5+00:00"), which sorts
    # like time; a bound in the same form compares correctly.
    return moment if postgres else moment.astimezone(UTC).isoformat(sep=" ")


def _scope_sql(scope: ReportScope, alias: str, postgres: bool) -> tuple[str, list[Any]]:
    sql = f"{alias}.workspace_id = ? AND {alias}.created_at >= ? AND {alias}.created_at < ?"
    params: list[Any] = [
        scope.workspace_id,
        _db_time(scope.start, postgres),
        _db_time(scope.end, postgres),
    ]
    if scope.channel is not None:
        sql += f" AND {alias}.channel = ?"
        params.append(scope.channel.value)
    return sql, params


async def count_rows(scope: ReportScope) -> int:
    where, params = _scope_sql(scope, "t", is_postgres())
    rows = await fetch(f"SELECT COUNT(*) AS n FROM ticket t WHERE {where}", *params)
    return int(rows[0]["n"])


async def read_chunk(scope: ReportScope, after: Cursor | None, limit: int) -> list[dict[str, Any]]:
    """The next `limit` tickets after `after`, oldest first, with their customers' chat counts."""
    postgres = is_postgres()
    where, params = _scope_sql(scope, "t", postgres)
    if after is not None:
        where += " AND (t.created_at, t.id) > (?, ?)"
        params += [after[0], after[1]]
    other_where, other_params = _scope_sql(scope, "o", postgres)
    sql = (
        "WITH chunk AS ("
        " SELECT t.id, t.customer_id, t.channel, t.stage_id, t.version, t.created_at,"
        " t.closed_at, t.last_customer_message_at FROM ticket t"
        f" WHERE {where} ORDER BY t.created_at, t.id LIMIT ?"
        "), chats AS ("
        " SELECT o.customer_id, COUNT(*) AS n FROM ticket o"
        f" WHERE {other_where} AND o.customer_id IN (SELECT customer_id FROM chunk)"
        " GROUP BY o.customer_id"
        ")"
        " SELECT c.id, c.customer_id, c.channel, s.name AS stage, c.created_at, c.closed_at,"
        " c.last_customer_message_at, c.version AS transitions, h.n AS chats"
        " FROM chunk c JOIN stage s ON s.id = c.stage_id"
        " LEFT JOIN chats h ON h.customer_id = c.customer_id"
        " ORDER BY c.created_at, c.id"
    )
    return await fetch(sql, *params, limit, *other_params)


def cursor_of(row: dict[str, Any]) -> Cursor:
    return row["created_at"], row["id"]


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any]) -> Any: ...
    def writerows(self, rows: Iterable[Iterable[Any]]) -> Any: ...


class _LineFeedRows:
    """Ends each row csv.writer writes with \\n instead of \\r\\n, as COPY ... CSV does.

    The writer is told rows end with \\r\\n so that it quotes every cell holding a \\r or a
    \\n (with \\n alone it leaves a lone \\r unquoted, and the file would split that row).
    """

    def __init__(self, file: Any) -> None:
        self.file = file

    def write(self, row: str) -> Any:
        if row.endswith("\r\n"):
            row = row[:-2] + "\n"
        return self.file.write(row)


def csv_writer(file: Any) -> _Writer:
    """Quoting as PostgreSQL's COPY ... CSV does it; lines end with \\n as COPY's do."""
    return csv.writer(_LineFeedRows(file), lineterminator="\r\n")


def _stamp(value: datetime | str | None, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).isoformat(timespec="microseconds")


def csv_rows(rows: Iterable[dict[str, Any]], zone: ZoneInfo) -> Iterator[tuple[Any, ...]]:
    """CSV cells of report rows: text written by people is neutralised, times are in `zone`
    with microseconds and offset (2026-03-10T01:30:00.000000+02:00)."""
    for row in rows:
        yield (
            str(row["id"]),
            neutralise(row["customer_id"]),
            row["channel"],
            neutralise(row["stage"]),
            _stamp(row["created_at"], zone),
            _stamp(row["closed_at"], zone),
            _stamp(row["last_customer_message_at"], zone),
            row["transitions"],
            row["chats"] or 0,
        )
