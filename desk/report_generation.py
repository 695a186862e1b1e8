"""Generating reports in the background: claim one, stream its rows to a file, publish progress.

Several workers may run at once. A worker claims a report by moving it to RUNNING with
`attempts + 1` in one conditional UPDATE; the attempt number is its fencing token: every later
write (progress, READY, FAILED) only applies while the report still carries it. A RUNNING report
whose heartbeat is older than STALE_AFTER was left by a worker that died and is taken over;
after MAX_ATTEMPTS such attempts it fails instead of looping forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from tortoise.expressions import Q

from desk.events import EventBatch
from desk.report_copy import copy_rows
from desk.report_rows import (
    HEADER,
    Cursor,
    ReportScope,
    count_rows,
    csv_rows,
    csv_writer,
    cursor_of,
    read_chunk,
    report_scope,
)
from desk.reports import file_name_for, publish_report
from desk.service import Desk
from desk.sql import is_postgres
from models import Report, ReportStatus

logger = logging.getLogger("ticket_stages.reports")

STALE_AFTER = timedelta(seconds=60)
HEARTBEAT_EVERY = STALE_AFTER / 4
MAX_ATTEMPTS = 3
CHUNK_SIZE = 10_000
# progress stays below 1 until the file is complete and the report READY
_RUNNING_PROGRESS_CAP = 0.99


@dataclass(frozen=True)
class Claim:
    """A report this worker now generates, as attempt number `attempt`."""

    report: Report
    attempt: int
    started_at: datetime


class LostClaim(Exception):
    """Another worker took the report over (this one was presumed dead)."""


class StopRequested(Exception):
    """The worker is shutting down: the report goes back to PENDING."""


StopSignal = Callable[[], bool]


def _owned(claim: Claim) -> Any:
    return Report.filter(id=claim.report.id, attempts=claim.attempt, status=ReportStatus.RUNNING)


async def _refresh(report: Report, batch: EventBatch) -> None:
    await report.refresh_from_db()
    publish_report(batch, report)


async def claim_report(desk: Desk) -> Claim | None:
    """Claim the oldest PENDING report, or a RUNNING one whose worker stopped; None if none."""
    for _ in range(100):
        now = desk.clock.now()
        async with desk.transaction() as batch:
            candidate = (
                await Report.filter(
                    Q(status=ReportStatus.PENDING)
                    | Q(status=ReportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
                )
                .order_by("created_at", "id")
                .select_for_update(skip_locked=True)
                .first()
            )
            if candidate is None:
                return None
            unchanged = Report.filter(
                id=candidate.id, status=candidate.status, attempts=candidate.attempts
            )
            if candidate.attempts >= MAX_ATTEMPTS:
                if await unchanged.update(
                    status=ReportStatus.FAILED,
                    error=(
                        f"generation was interrupted {candidate.attempts} times (a worker stopped "
                        "or lost its database); generate the report again"
                    ),
                    completed_at=now,
                    heartbeat_at=None,
                ):
                    await _refresh(candidate, batch)
                continue
            attempt = candidate.attempts + 1
            if not await unchanged.update(
                status=ReportStatus.RUNNING,
                attempts=attempt,
                progress=0.0,
                started_at=now,
                heartbeat_at=now,
                error=None,
            ):
                continue  # another worker claimed it between our read and our write
            await _refresh(candidate, batch)
            return Claim(report=candidate, attempt=attempt, started_at=now)
    return None


class ReportRun:
    """One attempt at one report: start, then step until it returns False, then finish.

    On SQLite a step writes one keyset chunk; on PostgreSQL the one step streams every row with
    COPY (desk.report_copy), recording progress every `chunk_size` rows and a heartbeat every
    HEARTBEAT_EVERY while it runs.
    """

    def __init__(
        self,
        desk: Desk,
        claim: Claim,
        reports_dir: Path,
        chunk_size: int = CHUNK_SIZE,
        stop: StopSignal | None = None,
    ):
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        report = claim.report
        self.desk = desk
        self.claim = claim
        self.chunk_size = chunk_size
        self.stop = stop
        self.directory = reports_dir / str(report.workspace_id)
        self.final_path = reports_dir / file_name_for(report.workspace_id, report.id)
        self.part_path = self.directory / f"{report.id}.{claim.attempt}.csv.part"
        self.scope: ReportScope = report_scope(
            report.workspace_id,
            report.start_date,
            report.end_date,
            report.channel,
            report.timezone,
            as_of=claim.started_at,
        )
        self.total = 0
        self.written = 0
        self.cursor: Cursor | None = None
        self.done = False
        self.lost = False
        self._file: IO[bytes] | None = None
        self._text: io.TextIOWrapper | None = None

    async def start(self) -> None:
        self.total = await count_rows(self.scope)
        self._file = await asyncio.to_thread(self._open_part)
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="", write_through=True)
        csv_writer(self._text).writerow(HEADER)

    def _open_part(self) -> IO[bytes]:
        self.directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.directory.glob(f"{self.claim.report.id}.*.csv.part"):
            leftover.unlink(missing_ok=True)  # from an attempt that died
        return open(self.part_path, "wb", buffering=1 << 20)

    async def step(self) -> bool:
        """Write the next rows and record the progress; False once every row is written."""
        if self.done:
            return False
        assert self._file is not None and self._text is not None, "start() first"
        self._check_stop()
        if is_postgres():
            async with self._heartbeat():
                self.written = await copy_rows(
                    self.scope, self._file, self.chunk_size, self._on_rows
                )
            self.done = True
        else:
            rows = await read_chunk(self.scope, self.cursor, self.chunk_size)
            if rows:
                csv_writer(self._text).writerows(csv_rows(rows, self.scope.zone))
                self.written += len(rows)
                self.cursor = cursor_of(rows[-1])
            self.done = len(rows) < self.chunk_size
        await self._record_progress(self.written)
        return not self.done

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop():
            raise StopRequested

    async def _on_rows(self, rows: int) -> None:
        if self.lost:  # seen by the heartbeat: the sink stops writing, step() raises it
            raise LostClaim
        self._check_stop()
        self.written = rows
        await self._record_progress(rows)

    @contextlib.asynccontextmanager
    async def _heartbeat(self) -> AsyncIterator[None]:
        """While COPY runs (sorting may take long before the first row), keep the claim fresh."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_EVERY.total_seconds())
                try:
                    await self._record_progress(self.written)
                except LostClaim:
                    self.lost = True
                    return

        task = asyncio.create_task(beat(), name=f"report-heartbeat-{self.claim.report.id}")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.lost:
            raise LostClaim

    async def _record_progress(self, written: int) -> None:
        progress = min(_RUNNING_PROGRESS_CAP, written / self.total) if self.total else 0.0
        async with self.desk.transaction() as batch:
            if not await _owned(self.claim).update(
                progress=progress, heartbeat_at=self.desk.clock.now()
            ):
                raise LostClaim
            await _refresh(self.claim.report, batch)

    async def finish(self) -> None:
        """Make the file durable under its final name, then mark the report READY."""
        assert self._file is not None and self._text is not None and self.done, (
            "step() until it returns False first"
        )
        self._text.detach()  # the wrapper would close the file when collected
        file, self._file, self._text = self._file, None, None
        await asyncio.to_thread(_close_durably, file, self.part_path, self.final_path)
        async with self.desk.transaction() as batch:
            if not await _owned(self.claim).update(
                status=ReportStatus.READY,
                progress=1.0,
                row_count=self.written,
                completed_at=self.desk.clock.now(),
                heartbeat_at=None,
                file_name=file_name_for(self.claim.report.workspace_id, self.claim.report.id),
            ):
                raise LostClaim
            await _refresh(self.claim.report, batch)

    def close(self) -> None:
        """Close the unfinished file, leaving it and the report row as they are."""
        if self._text is not None:
            self._text.close()  # and the file under it
        elif self._file is not None:
            self._file.close()
        self._file = self._text = None

    def discard(self) -> None:
        """Close and remove the unfinished file (the report row is left as it is)."""
        self.close()
        with contextlib.suppress(OSError):
            self.part_path.unlink(missing_ok=True)


def _close_durably(file: IO[bytes], part_path: Path, final_path: Path) -> None:
    try:
        file.flush()
        os.fsync(file.fileno())
    finally:
        file.close()
    os.replace(part_path, final_path)
    directory = os.open(final_path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def failure_message(error: BaseException) -> str:
    if isinstance(error, OSError):
        reason = error.strerror or type(error).__name__
        return f"the report file could not be written: {reason}"
    return "the report could not be generated because of an internal error; generate it again"


async def fail_report(desk: Desk, claim: Claim, message: str) -> None:
    async with desk.transaction() as batch:
        if await _owned(claim).update(
            status=ReportStatus.FAILED,
            error=message,
            completed_at=desk.clock.now(),
            heartbeat_at=None,
        ):
            await _refresh(claim.report, batch)


async def release_report(desk: Desk, claim: Claim) -> None:
    """Give a claimed report back as PENDING for the next worker; this attempt is not counted."""
    async with desk.transaction() as batch:
        if await _owned(claim).update(
            status=ReportStatus.PENDING,
            attempts=claim.attempt - 1,
            progress=0.0,
            started_at=None,
            heartbeat_at=None,
        ):
            await _refresh(claim.report, batch)


async def generate(
    desk: Desk,
    claim: Claim,
    reports_dir: Path,
    chunk_size: int = CHUNK_SIZE,
    stop: StopSignal | None = None,
) -> None:
    """Generate a claimed report to the end: READY, or FAILED with a reason.

    When `stop()` turns true while rows are written, the report goes back to PENDING for the next
    worker. Cancelled outright, it stays RUNNING: its heartbeat ages and another worker takes
    it over.
    """
    run = ReportRun(desk, claim, reports_dir, chunk_size, stop)
    try:
        await run.start()
        while await run.step():
            pass
        await run.finish()
    except StopRequested:
        run.discard()
        await release_report(desk, claim)
    except LostClaim:
        run.discard()
        logger.warning("report %s was taken over by another worker", claim.report.id)
    except Exception as error:
        run.discard()
        logger.exception("report %s failed", claim.report.id)
        await fail_report(desk, claim, failure_message(error))
    except BaseException:
        run.discard()
        raise


async def process_reports(
    desk: Desk,
    reports_dir: Path,
    chunk_size: int = CHUNK_SIZE,
    stop: StopSignal | None = None,
) -> int:
    """Generate every report waiting for a worker; returns how many were claimed."""
    claimed = 0
    while not (stop is not None and stop()):
        claim = await claim_report(desk)
        if claim is None:
            break
        claimed += 1
        await generate(desk, claim, reports_dir, chunk_size, stop)
    return claimed
