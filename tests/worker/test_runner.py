"""The background loop: runs the jobs on its interval, survives failures, stops between batches."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api.metrics import Metrics
from api.services import Services
from desk import tickets
from desk.autoclose import auto_close_due
from desk.clock import ManualClock
from desk.service import Desk
from models import Channel, StageKind, Ticket, TransitionSource
from subscriptions.inprocess import InProcessBus
from tests.conftest import admin_actor
from tests.support.polling import eventually
from tests.support.sweeps import RecordingPublisher, assert_counts_match_tickets
from ticket_stages.settings import Settings
from worker.runner import JOBS, run_background, stop_requested


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def services(
    db: str, clock: ManualClock, publisher: RecordingPublisher, tmp_path: Path
) -> Services:
    settings = Settings(database_url=db, reports_dir=tmp_path, sweep_interval=0.02)
    return Services(
        settings=settings,
        desk=Desk(clock=clock, publisher=publisher),
        bus=InProcessBus(),
        metrics=Metrics(),
    )


def metric(services: Services, name: str, labels: dict[str, str]) -> float:
    return services.metrics.registry.get_sample_value(name, labels) or 0.0


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_loop_wakes_and_auto_closes_on_its_interval(
    services: Services, clock: ManualClock
) -> None:
    names = [name for name, _ in JOBS]
    assert names.index("snooze_wake") < names.index("auto_close")
    desk = services.desk
    start = clock.now()
    actor = await admin_actor(desk)
    unanswered = await tickets.create_ticket(desk, actor, "customer-1", Channel.EMAIL)
    snoozed = await tickets.create_ticket(desk, actor, "customer-2", Channel.EMAIL)
    await tickets.snooze_ticket(desk, actor, str(snoozed.id), clock.now() + timedelta(hours=1))
    runner = asyncio.create_task(run_background(services))
    try:
        clock.advance(timedelta(hours=1))

        async def woken() -> bool:
            return (await Ticket.get(id=snoozed.id)).stage_kind is StageKind.OPEN

        await eventually(woken)
        clock.set(start + timedelta(days=3))  # the woken ticket has a fresh period: not due yet

        async def closed() -> bool:
            return (await Ticket.get(id=unanswered.id)).stage_kind is StageKind.AUTO_CLOSED

        await eventually(closed)
    finally:
        await stop(runner)
    assert metric(services, "ticket_stages_sweep_tickets_total", {"action": "snooze_wake"}) == 1
    assert metric(services, "ticket_stages_sweep_tickets_total", {"action": "auto_close"}) == 1
    assert (await Ticket.get(id=snoozed.id)).stage_kind is StageKind.OPEN


async def test_a_failing_job_is_logged_with_context_and_the_loop_goes_on(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    runs = {"broken": 0, "healthy": 0}

    async def broken(_: Services) -> int:
        runs["broken"] += 1
        error = RuntimeError("database unreachable")
        error.add_note("batch of 3 tickets")
        raise error

    async def healthy(_: Services) -> int:
        runs["healthy"] += 1
        return 2

    runner = asyncio.create_task(
        run_background(services, [("broken", broken), ("healthy", healthy)])
    )
    try:

        async def several_passes() -> bool:
            return runs["healthy"] >= 3

        await eventually(several_passes)
    finally:
        await stop(runner)
    assert runs["broken"] >= 3
    assert metric(services, "ticket_stages_sweep_errors_total", {"job": "broken"}) >= 3
    assert metric(services, "ticket_stages_sweep_tickets_total", {"action": "healthy"}) >= 6
    failures = [
        r for r in caplog.records if r.name == "ticket_stages.worker" and r.levelno == logging.ERROR
    ]
    assert failures
    record: Any = failures[0]
    assert record.job == "broken"
    assert "broken" in record.getMessage()
    assert "batch of 3 tickets" in caplog.text  # the error's own context is kept in the log


async def test_shutdown_lets_the_batch_in_flight_finish_and_starts_no_other(
    services: Services, clock: ManualClock, publisher: RecordingPublisher
) -> None:
    desk = services.desk
    actor = await admin_actor(desk)
    made = [
        await tickets.create_ticket(desk, actor, f"customer-{n}", Channel.SMS) for n in range(12)
    ]
    clock.advance(timedelta(days=3))
    runner: asyncio.Task[None] | None = None
    asked_to_stop: list[bool] = []

    class CancelAfterFirstBatch(RecordingPublisher):
        def publish(self, channel: str, payload: dict[str, Any]) -> None:
            publisher.publish(channel, payload)
            if runner is not None and not runner.cancelling():
                runner.cancel()  # the server shuts down while the sweep is draining

    async def slow_drain(services: Services) -> int:
        closed = await auto_close_due(
            Desk(clock=clock, publisher=CancelAfterFirstBatch()), batch_size=2, stop=stop_requested
        )
        asked_to_stop.append(stop_requested())
        return closed

    runner = asyncio.create_task(run_background(services, [("auto_close", slow_drain)]))
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert asked_to_stop == [True]
    closed = await Ticket.filter(stage_kind=StageKind.AUTO_CLOSED).count()
    assert 0 < closed < len(made) and closed % 2 == 0  # whole batches only, and it stopped early
    assert len(publisher.changes(TransitionSource.AUTO_CLOSE)) == closed
    await assert_counts_match_tickets(actor.workspace_id)


async def test_shutdown_waits_for_a_transaction_in_flight(services: Services) -> None:
    desk = services.desk
    actor = await admin_actor(desk)
    ticket = await tickets.create_ticket(desk, actor, "customer-1", Channel.SMS)
    inside = asyncio.Event()

    async def two_step_job(services: Services) -> int:
        async with services.desk.transaction():
            await Ticket.filter(id=ticket.id).update(subject="first half")
            inside.set()
            await asyncio.sleep(0.1)
            await Ticket.filter(id=ticket.id).update(customer_id="second half")
        return 1

    runner = asyncio.create_task(run_background(services, [("two_step", two_step_job)]))
    await inside.wait()
    await stop(runner)
    done = await Ticket.get(id=ticket.id)
    assert (done.subject, done.customer_id) == ("first half", "second half")


async def test_a_long_report_does_not_hold_up_auto_close(
    services: Services, clock: ManualClock
) -> None:
    from worker.runner import SWEEPS

    release = asyncio.Event()

    async def long_report(services: Services) -> int:
        await release.wait()
        return 1

    actor = await admin_actor(services.desk)
    ticket = await tickets.create_ticket(services.desk, actor, "customer-1", Channel.SMS)
    clock.advance(timedelta(days=4))
    runner = asyncio.create_task(
        run_background(services, lanes=[([("reports", long_report)], 0.02), (SWEEPS, 0.02)])
    )
    try:

        async def closed() -> bool:
            return (await Ticket.get(id=ticket.id)).stage_kind is StageKind.AUTO_CLOSED

        await eventually(closed)
        assert not release.is_set()
    finally:
        release.set()
        await stop(runner)


def test_reports_run_in_their_own_lane_and_start_within_seconds(services: Services) -> None:
    from worker.runner import REPORTS, SWEEPS, _lanes

    slow = Services(
        settings=services.settings.with_(sweep_interval=30.0),
        desk=services.desk,
        bus=services.bus,
        metrics=services.metrics,
    )
    assert _lanes(slow) == [(SWEEPS, 30.0), (REPORTS, 2.0)]
