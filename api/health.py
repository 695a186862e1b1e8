"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.services import Services
from desk.sql import fetch

READY_TIMEOUT = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _database_ready() -> bool:
    try:
        await asyncio.wait_for(fetch("SELECT 1 AS ok"), READY_TIMEOUT)
        return True
    except Exception:
        return False


async def readyz(request: Request) -> Response:
    services: Services = request.app.state.services
    checks = {"database": await _database_ready()}
    if services.settings.redis_url:
        checks["redis"] = await services.bus.ping()
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


async def metrics(request: Request) -> Response:
    services: Services = request.app.state.services
    return Response(services.metrics.render(), media_type=services.metrics.content_type)
