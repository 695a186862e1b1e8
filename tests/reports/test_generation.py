"""Background generation: chunks, progress, claiming, takeover of reports whose worker died."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from desk.access import Actor
from desk.clock import ManualClock
from desk.csv_safety import neutralise
from desk.events import channel_name
from desk.report_generation import (
    MAX_ATTEMPTS,
    STALE_AFTER,
    LostClaim,
    ReportRun,
    claim_report,
    process_reports,
)
from desk.reports import request_report
from desk.service import Desk
from desk.tickets import create_ticket
from models import Channel, Report, ReportStatus, Ticket
from tests.conftest import admin_actor

DAY = date(2026, 1, 5)  # the ManualClock's first day


class Recorder:
    """A publisher that keeps what it was given."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        self.published.append((channel, payload))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def reports_dir(tmp_path: Path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
def desk(clock: ManualClock, recorder: Recorder) -> Desk:
    return Desk(clock=clock, publisher=recorder)


async def _tickets(desk: Desk, actor: Actor, clock: ManualClock, count: int) -> None:
    """`count` tickets of 3 customers; pairs share a creation instant (ties broken by id)."""
    for index in range(count):
        await create_ticket(desk, actor, f"customer-{index % 3}", Channel.EMAIL)
        if index % 2:
            clock.advance(1)


async def _report(desk: Desk, actor: Actor) -> Report:
    return await request_report(desk, actor, "Daily", DAY, DAY)


def _files(reports_dir: Path) -> list[str]:
    return sorted(p.name for p in reports_dir.rglob("*") if p.is_file())


async def test_chunks_make_the_same_file_and_publish_progress(
    db: str, desk: Desk, clock: ManualClock, recorder: Recorder, tmp_path: Path
) -> None:
    actor = await admin_actor(desk)
    await _tickets(desk, actor, clock, 7)
    whole = await _report(desk, actor)
    clock.advance(1)
    chunked = await _report(desk, actor)
    whole_claim = await claim_report(desk)
    assert whole_claim is not None and whole_claim.report.id == whole.id
    run = ReportRun(desk, whole_claim, tmp_path / "whole")
    await run.start()
    while await run.step():
        pass
    await run.finish()
    recorder.published.clear()

    assert await process_reports(desk, tmp_path / "chunked", chunk_size=2) == 1

    whole_file = (tmp_path / "whole" / str(actor.workspace_id) / f"{whole.id}.csv").read_bytes()
    chunked_file = (
        tmp_path / "chunked" / str(actor.workspace_id) / f"{chunked.id}.csv"
    ).read_bytes()
    assert chunked_file == whole_file
    assert whole_file.count(b"\n") == 8
    channel = channel_name(actor.workspace_id, "reports")
    events = [payload for name, payload in recorder.published if name == channel]
    statuses = [e["status"] for e in events]
    assert statuses[-1] == "READY" and set(statuses[:-1]) == {"RUNNING"}
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[0] == 0.0 and progress[-1] == 1.0
    assert any(
        0 < p < 1 for p in progress
    )  # per chunk on SQLite, every 2 rows of COPY on PostgreSQL
    done = await Report.get(id=chunked.id)
    assert (done.status, done.row_count, done.attempts) == (ReportStatus.READY, 7, 1)


async def test_a_report_whose_worker_died_is_taken_over(
    db: str, desk: Desk, clock: ManualClock, reports_dir: Path
) -> None:
    actor = await admin_actor(desk)
    await _tickets(desk, actor, clock, 5)
    report = await _report(desk, actor)
    claim = await claim_report(desk)
    assert claim is not None
    dead = ReportRun(desk, claim, reports_dir, chunk_size=2)
    await dead.start()
    await dead.step()  # rows written, progress recorded...
    dead.close()  # ...and the process dies: its files are closed, nothing else happens
    interrupted = await Report.get(id=report.id)
    assert interrupted.status == ReportStatus.RUNNING and 0 < interrupted.progress < 1
    assert _files(reports_dir) == [f"{report.id}.1.csv.part"]

    assert await claim_report(desk) is None  # its heartbeat is fresh: maybe it is only slow
    clock.advance(STALE_AFTER + timedelta(seconds=1))
    assert await process_reports(desk, reports_dir, chunk_size=2) == 1

    recovered = await Report.get(id=report.id)
    assert (recovered.status, recovered.attempts, recovered.row_count) == (ReportStatus.READY, 2, 5)
    assert recovered.progress == 1.0 and recovered.error is None
    assert _files(reports_dir) == [f"{report.id}.csv"]
    content = (reports_dir / str(actor.workspace_id) / f"{report.id}.csv").read_bytes()
    assert content.count(b"\n") == 6


async def test_a_worker_presumed_dead_stops_when_it_wakes_up(
    db: str, desk: Desk, clock: ManualClock, reports_dir: Path
) -> None:
    actor = await admin_actor(desk)
    await _tickets(desk, actor, clock, 5)
    report = await _report(desk, actor)
    slow_claim = await claim_report(desk)
    assert slow_claim is not None
    slow = ReportRun(desk, slow_claim, reports_dir, chunk_size=2)
    await slow.start()
    clock.advance(STALE_AFTER * 2)
    new_claim = await claim_report(desk)
    assert new_claim is not None and new_claim.attempt == 2

    with pytest.raises(LostClaim):
        await slow.step()
    slow.discard()
    assert (await Report.get(id=report.id)).progress == 0.0  # the old worker wrote nothing more
    fresh = ReportRun(desk, new_claim, reports_dir, chunk_size=2)
    await fresh.start()
    while await fresh.step():
        pass
    await fresh.finish()
    assert (await Report.get(id=report.id)).status == ReportStatus.READY
    assert _files(reports_dir) == [f"{report.id}.csv"]


async def test_a_report_interrupted_again_and_again_fails_with_a_reason(
    db: str, desk: Desk, clock: ManualClock, tmp_path: Path
) -> None:
    actor = await admin_actor(desk)
    report = await _report(desk, actor)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claim = await claim_report(desk)
        assert claim is not None and claim.attempt == attempt
        clock.advance(STALE_AFTER + timedelta(seconds=1))  # ...and its worker dies each time

    assert await claim_report(desk) is None
    failed = await Report.get(id=report.id)
    assert failed.status == ReportStatus.FAILED
    assert failed.error is not None and f"interrupted {MAX_ATTEMPTS} times" in failed.error


async def test_two_workers_never_claim_the_same_report(
    db: str, desk: Desk, clock: ManualClock
) -> None:
    actor = await admin_actor(desk)
    await _report(desk, actor)
    claims = await asyncio.gather(claim_report(desk), claim_report(desk))
    assert sorted(c is None for c in claims) == [False, True]


async def test_a_file_that_cannot_be_written_fails_the_report_with_the_reason(
    db: str, desk: Desk, clock: ManualClock, tmp_path: Path
) -> None:
    actor = await admin_actor(desk)
    report = await _report(desk, actor)
    not_a_directory = tmp_path / "reports"
    not_a_directory.write_text("a file where the reports directory should be")

    assert await process_reports(desk, not_a_directory) == 1

    failed = await Report.get(id=report.id)
    assert failed.status == ReportStatus.FAILED
    assert failed.error == "the report file could not be written: Not a directory"
    assert failed.completed_at == clock.now()


async def test_a_stopping_worker_gives_the_report_back(
    db: str, desk: Desk, clock: ManualClock, reports_dir: Path
) -> None:
    actor = await admin_actor(desk)
    await _tickets(desk, actor, clock, 5)
    report = await _report(desk, actor)
    checks = []

    def stop() -> bool:  # shutdown is requested once the first chunk is written
        checks.append(True)
        return len(checks) > 1

    assert await process_reports(desk, reports_dir, chunk_size=2, stop=stop) == 1

    given_back = await Report.get(id=report.id)
    assert (given_back.status, given_back.attempts, given_back.progress) == (
        ReportStatus.PENDING,
        0,
        0.0,
    )
    assert _files(reports_dir) == []
    assert await process_reports(desk, reports_dir, chunk_size=2) == 1
    done = await Report.get(id=report.id)
    assert (done.status, done.attempts, done.row_count) == (ReportStatus.READY, 1, 5)


async def test_both_writers_neutralise_and_quote_the_same_cells(
    db: str, desk: Desk, clock: ManualClock, reports_dir: Path
) -> None:
    """Cells the API refuses today (control characters) may sit in older rows: the file is safe."""
    actor = await admin_actor(desk)
    risky = ["\tTAB", "\r=1", "\n@x", "a\nb", 'say "hi", =1', " -1", "=1", "\u3000=1", "plain"]
    for customer in risky:
        ticket = await create_ticket(desk, actor, "placeholder", Channel.SMS)
        await Ticket.filter(id=ticket.id).update(customer_id=customer)
        clock.advance(1)
    report = await _report(desk, actor)

    assert await process_reports(desk, reports_dir) == 1

    done = await Report.get(id=report.id)
    content = (reports_dir / str(done.file_name)).read_bytes().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(content, newline="")))
    assert [r["Customer ID"] for r in rows] == [neutralise(c) for c in risky]
    assert [r["Customer ID"] for r in rows][:3] == ["'\tTAB", "'\r=1", "'\n@x"]
    assert rows[-2]["Customer ID"] == "\u3000=1"  # only ASCII spaces lead a formula
