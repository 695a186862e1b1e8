"""The long-running processes: the server (with or without the worker) and the worker alone."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from ticket_stages.settings import Settings


def serve(settings: Settings, *, host: str, port: int, worker: bool, demo: bool) -> int:
    import uvicorn

    from api.app import create_app

    asyncio.run(_prepare(settings, demo=demo, host=host, port=port))
    background = None
    if worker:
        from worker.runner import run_background

        background = run_background
    app = create_app(settings, background=background)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=None,  # uvicorn's lines go through our handler: JSON when asked
        access_log=False,
        ws="websockets-sansio",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    return 0


async def _prepare(settings: Settings, *, demo: bool, host: str, port: int) -> None:
    from models.database import migrate, open_database

    async with open_database(settings.database_url, pool_size=2) as ctx:
        await migrate(ctx)
        if demo:
            from ticket_stages.demo import ensure_demo

            secret = await ensure_demo()
            shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
            print(
                f"\nTicket Stages demo is ready.\n"
                f"  GraphQL + GraphiQL: http://{shown}:{port}/graphql\n"
                f"  ADMIN API key:      {secret}\n"
                f'  Try: curl -s http://{shown}:{port}/graphql -H "Authorization: Bearer {secret}" '
                f"-H 'content-type: application/json' "
                '-d \'{"query":"{ stageCounts { total counts { stage { name } count } } }"}\'\n',
                flush=True,
            )


async def run_worker_process(settings: Settings) -> None:
    """Only the background work, with its own database pool and bus, until SIGINT/SIGTERM."""
    from api.metrics import Metrics
    from api.services import Services
    from desk.clock import SystemClock
    from desk.service import Desk
    from models.database import open_database
    from subscriptions import create_bus
    from worker.runner import run_background

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    metrics = Metrics()
    bus = create_bus(settings.redis_url)
    async with open_database(settings.database_url, pool_size=settings.database_pool_size):
        await bus.start()
        try:
            services = Services(
                settings=settings,
                desk=Desk(clock=SystemClock(), publisher=bus),
                bus=bus,
                metrics=metrics,
            )
            task = asyncio.create_task(run_background(services))
            await stop.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            await bus.stop()
    print("worker stopped", file=sys.stderr)
