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
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from tortoise.expressions import Q

from desk.events import EventBatch
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
from models import Report, ReportStatus

logger = logging.getLogger("ticket_stages.reports")

STALE_AFTER = timedelta(seconds=60)
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
    """One attempt at one report: start, then step chunk by chunk, then finish."""

    def __init__(self, desk: Desk, claim: Claim, reports_dir: Path, chunk_size: int = CHUNK_SIZE):
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        report = claim.report
        self.desk = desk
        self.claim = claim
        self.chunk_size = chunk_size
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
        self._file: IO[str] | None = None

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.directory.glob(f"{self.claim.report.id}.*.csv.part"):
            leftover.unlink(missing_ok=True)  # from an attempt that died
        self.total = await count_rows(self.scope)
        self._file = open(self.part_path, "w", encoding="utf-8", newline="", buffering=1 << 20)  # noqa: SIM115
        csv_writer(self._file).writerow(HEADER)

    async def step(self) -> bool:
        """Write the next chunk and record the progress; False once every row is written."""
        if self.done:
            return False
        assert self._file is not None, "start() first"
        rows = await read_chunk(self.scope, self.cursor, self.chunk_size)
        if rows:
            csv_writer(self._file).writerows(csv_rows(rows, self.scope.zone))
            self.written += len(rows)
            self.cursor = cursor_of(rows[-1])
        self.done = len(rows) < self.chunk_size
        if not self.done:
            await self._record_progress()
        return not self.done

    async def _record_progress(self) -> None:
        progress = min(_RUNNING_PROGRESS_CAP, self.written / self.total) if self.total else 0.0
        async with self.desk.transaction() as batch:
            if not await _owned(self.claim).update(progress=progress, heartbeat_at=self.desk.clock.now()):
                raise LostClaim
            await _refresh(self.claim.report, batch)

    async def finish(self) -> None:
        """Make the file durable under its final name, then mark the report READY."""
        assert self._file is not None and self.done, "step() until it returns False first"
        file, self._file = self._file, None
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
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Close and remove the unfinished file (the report row is left as it is)."""
        self.close()
        with contextlib.suppress(OSError):
            self.part_path.unlink(missing_ok=True)


def _close_durably(file: IO[str], part_path: Path, final_path: Path) -> None:
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
    """Give a claimed report back as PENDING (the worker is stopping); the attempt does not count."""
    async with desk.transaction() as batch:
        if await _owned(claim).update(
            status=ReportStatus.PENDING,
            attempts=claim.attempt - 1,
            progress=0.0,
            started_at=None,
            heartbeat_at=None,
        ):
            await _refresh(claim.report, batch)


StopSignal = Callable[[], bool]


async def generate(
    desk: Desk,
    claim: Claim,
    reports_dir: Path,
    chunk_size: int = CHUNK_SIZE,
    stop: StopSignal | None = None,
) -> None:
    """Generate a claimed report to the end: READY, or FAILED with a reason.

    When `stop()` turns true between chunks, the report goes back to PENDING for the next
    worker. Cancelled outright, it stays RUNNING: its heartbeat ages and another worker takes
    it over.
    """
    run = ReportRun(desk, claim, reports_dir, chunk_size)
    try:
        await run.start()
        while await run.step():
            if stop is not None and stop():
                run.discard()
                await release_report(desk, claim)
                return
        await run.finish()
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
