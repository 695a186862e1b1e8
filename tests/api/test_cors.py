"""Browsers on an allowed origin can read every answer: kept ones, refusals, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from desk.clock import ManualClock
from subscriptions.inprocess import InProcessBus
from tests.conftest import new_workspace
from ticket_stages.settings import Settings

DASHBOARD = "https://desk.example"
COUNTS = {"query": "{ stageCounts { version total } }"}


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Starlette]:
    config = settings.with_(allowed_origins=(DASHBOARD,), rate_limit_per_minute=8)
    application = create_app(config, clock=clock, bus=InProcessBus())
    async with application.router.lifespan_context(application):
        yield application


async def test_every_answer_to_an_allowed_origin_carries_cors_headers(app: Starlette) -> None:
    _, key = await new_workspace(app)
    headers = {"authorization": f"Bearer {key}", "origin": DASHBOARD}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        preflight = await http.options(
            "/graphql",
            headers={
                "origin": DASHBOARD,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == DASHBOARD
        answers = [await http.post("/graphql", json=COUNTS, headers=headers) for _ in range(10)]
        assert [a.status_code for a in answers] == [200] * 8 + [429] * 2  # kept ones, then refused
        for answer in answers:
            assert answer.headers["access-control-allow-origin"] == DASHBOARD
            assert "x-request-id" in answer.headers["access-control-expose-headers"]
        other = await http.post(
            "/graphql", json=COUNTS, headers={**headers, "origin": "https://elsewhere.example"}
        )
        assert "access-control-allow-origin" not in other.headers
