"""PostgreSQL writes a report's rows itself: one COPY ... TO STDOUT CSV, streamed to the file.

Formatting a million rows in Python costs several times what PostgreSQL's COPY of the same rows
costs, so on PostgreSQL the cells are made in SQL (the same cells as desk.report_rows makes) and
COPY streams them in the buffers it sends; this process only appends the bytes to the file, so
its memory does not grow with the report. The customers' chat counts come from one aggregate
over the report's scope, hash-joined to its tickets: one pass instead of a lookup per ticket.
The statement runs in one read-only transaction, so every row and count comes from one snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import IO, Any

from desk.csv_safety import FORMULA_PATTERN
from desk.report_rows import ReportScope
from desk.sql import current_client

# for this transaction only: no JIT compilation (its start-up costs more than it saves here),
# and room to hash the customers and sort the rows in memory rather than on disk
_SETTINGS = (("jit", "off"), ("work_mem", "128MB"))


def _neutral(column: str) -> str:
    return f"CASE WHEN {column} ~ $4 THEN '''' || {column} ELSE {column} END"


def _stamp(column: str) -> str:
    # the transaction's TimeZone is the report's, so TZH:TZM is the offset of that zone then
    return f"to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM')"


def report_sql(with_channel: bool) -> str:
    """The report's rows, oldest first.

    $1 workspace, $2 start, $3 end, $4 the formula pattern, $5 the channel if `with_channel`.
    """
    channel = " AND {a}.channel = $5" if with_channel else ""
    scope = "{a}.workspace_id = $1 AND {a}.created_at >= $2 AND {a}.created_at < $3" + channel
    return (
        f"SELECT t.id, {_neutral('t.customer_id')}, t.channel, {_neutral('s.name')},"
        f" {_stamp('t.created_at')}, {_stamp('t.closed_at')},"
        f" {_stamp('t.last_customer_message_at')}, t.version, h.n"
        " FROM ticket t JOIN stage s ON s.id = t.stage_id"
        " JOIN (SELECT o.customer_id, COUNT(*) AS n FROM ticket o"
        f" WHERE {scope.format(a='o')} GROUP BY o.customer_id) h"
        " ON h.customer_id = t.customer_id"
        f" WHERE {scope.format(a='t')}"
        " ORDER BY t.created_at, t.id"
    )


class _Sink:
    """Appends COPY's buffers to the file; every `every` lines, awaits `on_rows(lines so far)`.

    It never raises: an exception inside asyncpg's COPY output callback makes asyncpg cancel the
    query and wait for the cancellation, which can hang when the query has already finished. The
    first failure is kept, the rest of the stream is skipped, and copy_rows raises it afterwards.
    """

    def __init__(self, file: IO[bytes], every: int, on_rows: Callable[[int], Awaitable[None]]):
        self.file = file
        self.every = every
        self.on_rows = on_rows
        self.lines = 0
        self.failure: Exception | None = None
        self._reported = 0

    async def __call__(self, data: bytes) -> None:
        if self.failure is not None:
            return
        try:
            self.file.write(data)
            # a quoted cell may hold a line break: the count is for progress only
            self.lines += data.count(b"\n")
            if self.lines - self._reported >= self.every:
                self._reported = self.lines
                await self.on_rows(self.lines)
        except Exception as error:
            self.failure = error


async def copy_rows(
    scope: ReportScope,
    file: IO[bytes],
    progress_every: int,
    on_rows: Callable[[int], Awaitable[None]],
) -> int:
    """Stream the report's rows into `file`; returns how many rows COPY wrote."""
    params: list[Any] = [scope.workspace_id, scope.start, scope.end, FORMULA_PATTERN]
    if scope.channel is not None:
        params.append(scope.channel.value)
    sink = _Sink(file, progress_every, on_rows)
    async with current_client().acquire_connection() as connection:
        async with connection.transaction(readonly=True, isolation="repeatable_read"):
            await connection.execute("SELECT set_config('TimeZone', $1, true)", scope.zone.key)
            for setting, value in _SETTINGS:
                await connection.execute("SELECT set_config($1, $2, true)", setting, value)
            status = await connection.copy_from_query(
                report_sql(scope.channel is not None), *params, output=sink, format="csv"
            )
    if sink.failure is not None:
        raise sink.failure
    return int(status.split()[-1])
