"""The background loops: lanes of jobs, each lane a pass of its jobs every interval.

Lanes run side by side, so a long report never delays an auto-close or a wake. Supervised: a
job that fails is logged with its context and counted, and its lane goes on. Shutdown is
graceful: cancelling asks the running jobs to stop after their batch in flight, waits for those
batches to commit (and publish) or roll back, and only then ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING

from desk.autoclose import auto_close_due
from desk.wake import wake_due
from worker.reports_job import generate_reports

if TYPE_CHECKING:
    from api.services import Services

logger = logging.getLogger("ticket_stages.worker")

Job = Callable[["Services"], Awaitable[int]]  # returns how many things it did
SHUTDOWN_GRACE_SECONDS = 20.0

_stop_event: ContextVar[asyncio.Event | None] = ContextVar("worker_stop_event", default=None)


def stop_requested() -> bool:
    """True once the worker is shutting down: long jobs check it between their batches."""
    event = _stop_event.get()
    return event is not None and event.is_set()


async def snooze_wake(services: Services) -> int:
    return await wake_due(services.desk, stop=stop_requested)


async def auto_close(services: Services) -> int:
    return await auto_close_due(services.desk, stop=stop_requested)


# The background jobs by lane; a lane runs its jobs in this order once per pass. Add one with
# one line: (name for logs and metrics, async callable(services) returning how many it did).
SWEEPS: list[tuple[str, Job]] = [
    ("snooze_wake", snooze_wake),
    ("auto_close", auto_close),
]
REPORTS: list[tuple[str, Job]] = [("reports", generate_reports)]
JOBS: list[tuple[str, Job]] = SWEEPS + REPORTS
Lane = tuple[Sequence[tuple[str, Job]], float]  # jobs, seconds between passes
# a report asked for should start within seconds, whatever the sweep interval
REPORTS_INTERVAL_CAP = 2.0


def _lanes(services: Services) -> list[Lane]:
    interval = services.settings.sweep_interval
    return [(SWEEPS, interval), (REPORTS, min(interval, REPORTS_INTERVAL_CAP))]


async def run_background(
    services: Services,
    jobs: Sequence[tuple[str, Job]] | None = None,
    *,
    lanes: Sequence[Lane] | None = None,
) -> None:
    """Run every lane (or the given jobs as one lane) until cancelled; a cancellation lets the
    batches in flight finish first."""
    stop = asyncio.Event()
    token = _stop_event.set(stop)  # copied into the context of each lane and pass task
    if lanes is None:
        lanes = _lanes(services) if jobs is None else [(jobs, services.settings.sweep_interval)]
    try:
        async with asyncio.TaskGroup() as group:
            for lane_jobs, interval in lanes:
                group.create_task(_run_lane(services, lane_jobs, interval, stop))
    finally:
        _stop_event.reset(token)


async def _run_lane(
    services: Services, jobs: Sequence[tuple[str, Job]], interval: float, stop: asyncio.Event
) -> None:
    passes = 0
    while True:
        passes += 1
        current = asyncio.create_task(
            run_pass(services, jobs, passes), name=f"worker-pass-{passes}"
        )
        try:
            await asyncio.shield(current)
        except asyncio.CancelledError:
            stop.set()
            await _let_finish(current)
            raise
        except Exception:  # run_pass contains its jobs' errors: this is a bug, keep going
            logger.exception("background pass %d failed", passes, extra={"pass": passes})
        await asyncio.sleep(interval)


async def run_pass(services: Services, jobs: Sequence[tuple[str, Job]], number: int = 0) -> None:
    for name, job in jobs:
        if stop_requested():
            return
        started = time.monotonic()
        try:
            done = await job(services)
        except Exception:
            services.metrics.sweep_errors.labels(job=name).inc()
            logger.exception(
                "background job %s failed on pass %d after %.3fs; it runs again next pass",
                name,
                number,
                time.monotonic() - started,
                extra={"job": name, "pass": number},
            )
            continue
        if done:
            services.metrics.sweep_results.labels(action=name).inc(done)
            logger.info(
                "background job %s did %d in %.3fs",
                name,
                done,
                time.monotonic() - started,
                extra={"job": name, "pass": number, "count": done},
            )


async def _let_finish(current: asyncio.Task[None]) -> None:
    """Wait for the pass to reach the end of its batch; past the grace period, cancel it.

    Each batch is one transaction, so even a forced cancellation leaves no half-done batch:
    the transaction rolls back.
    """
    try:
        await asyncio.wait_for(asyncio.shield(current), SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        logger.warning(
            "background pass still running after %.0fs: cancelling it", SHUTDOWN_GRACE_SECONDS
        )
        current.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await current
    except Exception:  # run_pass logs its jobs' errors; anything else must not hide the cancel
        logger.exception("background pass failed while shutting down")
