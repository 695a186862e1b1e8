"""The composition root: one app, one lifespan owning the database, the bus and the worker."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise.context import TortoiseContext

from api.cached_reads import CachedReads
from api.graphql_view import GraphQLView
from api.health import healthz, metrics, readyz
from api.limits import BodySizeLimit
from api.metrics import Metrics
from api.rate_limit import LocalCounterStore, RateLimit, RateLimiter
from api.report_download import download_report
from api.schema import build_schema
from api.services import Services
from api.unavailable import DatabaseOutage
from desk.clock import Clock, SystemClock
from desk.service import Desk
from models.database import activate, open_database
from subscriptions import create_bus
from subscriptions.bus import Bus
from subscriptions.echo import LocalEcho
from ticket_stages.settings import Settings

logger = logging.getLogger("ticket_stages")

BackgroundRunner = Callable[[Services], Awaitable[None]]


class _Runtime:
    """What the lifespan opens, reachable by requests served while it is open."""

    def __init__(self) -> None:
        self.services: Services | None = None
        self.database: TortoiseContext | None = None
        self.rate_limiter: RateLimiter | None = None

    def require_services(self) -> Services:
        if self.services is None:
            raise RuntimeError("the app is not started: run it inside its lifespan")
        return self.services


class DatabaseContext:
    """Makes the app's Tortoise context the current one for every request and websocket."""

    def __init__(self, app: ASGIApp, runtime: _Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.runtime.database is not None:
            with activate(self.runtime.database):
                await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    bus: Bus | None = None,
    background: BackgroundRunner | None = None,
) -> Starlette:
    """Build the service. `background` (the worker) runs beside the server while it lives."""
    runtime = _Runtime()
    schema = build_schema()
    graphql = GraphQLView(runtime.require_services, schema, settings.allowed_origins)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        metrics_ = Metrics()
        event_bus = bus or create_bus(settings.redis_url, metrics=_bus_metrics(metrics_))
        async with contextlib.AsyncExitStack() as stack:
            runtime.database = await stack.enter_async_context(
                open_database(settings.database_url, pool_size=settings.database_pool_size)
            )
            await event_bus.start()
            stack.push_async_callback(event_bus.stop)
            runtime.rate_limiter = RateLimiter(
                settings.rate_limit_per_minute,
                await stack.enter_async_context(_counter_store(settings)),
            )
            echo = LocalEcho(event_bus)
            desk = Desk(clock=clock or SystemClock(), publisher=echo)
            services = Services(
                settings=settings, desk=desk, bus=event_bus, metrics=metrics_, echo=echo
            )
            stack.push_async_callback(services.close)
            runtime.services = services
            app.state.services = services
            app.state.database = runtime.database
            if background is not None:
                await stack.enter_async_context(_supervised(background, services))
            try:
                yield {"services": services}
            finally:
                runtime.services = None
                runtime.rate_limiter = None
        runtime.database = None

    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/reports/{report_id}/download", download_report, methods=["GET"]),
    ]
    middleware = [
        Middleware(BodySizeLimit),
        Middleware(RateLimit, limiter_of=lambda: runtime.rate_limiter),
        Middleware(CachedReads, services_of=lambda: runtime.services),
        Middleware(DatabaseOutage),
        Middleware(DatabaseContext, runtime=runtime),
    ]
    if settings.allowed_origins:
        # outermost: every answer carries its CORS headers, refusals and kept answers too
        cors = Middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id", "retry-after"],
            max_age=600,
        )
        middleware.insert(0, cors)
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


@contextlib.asynccontextmanager
async def _counter_store(settings: Settings) -> AsyncIterator[Any]:
    """Rate-limit counters: shared through Redis when configured, else in this process."""
    if not settings.redis_url:
        yield LocalCounterStore()
        return
    from subscriptions.rate_store import RedisCounterStore

    store = RedisCounterStore(settings.redis_url)
    try:
        yield store
    finally:
        await store.close()


def _bus_metrics(metrics_: Metrics) -> Any:
    from subscriptions.metrics import BusMetrics

    return BusMetrics(
        reconnects=metrics_.bus_reconnects.inc,
        published=metrics_.bus_published.inc,
        publish_failures=metrics_.bus_publish_failures.inc,
        dropped=lambda reason, amount: metrics_.bus_dropped.labels(reason=reason).inc(amount),
        subscribers=metrics_.bus_subscribers.set,
    )


@contextlib.asynccontextmanager
async def _supervised(runner: BackgroundRunner, services: Services) -> AsyncIterator[None]:
    """Run the background work as a task that is cancelled and awaited on shutdown."""
    import asyncio

    task = asyncio.create_task(runner(services), name="ticket-stages-background")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
