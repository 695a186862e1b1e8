"""reportProgress over real websockets, and the worker job generating reports in the background."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from api.services import Services
from desk.clock import ManualClock
from desk.report_generation import ReportRun, claim_report
from models.database import activate
from subscriptions.inprocess import InProcessBus
from tests.conftest import new_workspace
from tests.reports.helpers import create_ticket, download, generate, parse_csv, report, work
from tests.support.graphql import GraphQLClient
from tests.support.ws import GraphQLWebSocket, serve
from ticket_stages.settings import Settings
from worker.reports_job import generate_reports
from worker.runner import run_background

PROGRESS = (
    "subscription($id: ID!) { reportProgress(id: $id) "
    "{ id status progress rowCount error downloadUrl } }"
)


async def _next(results: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    payload = await anext(results)
    assert "errors" not in payload, payload
    return dict(payload["data"]["reportProgress"])


async def test_progress_updates_then_ready_then_complete(
    app: Starlette, gql: GraphQLClient, clock: ManualClock
) -> None:
    for index in range(5):
        await create_ticket(gql, f"customer-{index}")
        clock.advance(1)
    created = await generate(gql, startDate="2026-01-05", endDate="2026-01-05")
    desk = app.state.services.desk
    reports_dir = app.state.services.settings.reports_dir

    async with serve(app) as url, GraphQLWebSocket.open(url, gql.key) as socket:
        operation = await socket.subscribe(PROGRESS, {"id": created["id"]})
        results = socket.results(operation)
        assert await _next(results) == {
            "id": created["id"],
            "status": "PENDING",
            "progress": 0.0,
            "rowCount": None,
            "error": None,
            "downloadUrl": None,
        }
        with activate(app.state.database):
            claim = await claim_report(desk)
            assert claim is not None
            assert (await _next(results))["status"] == "RUNNING"
            run = ReportRun(desk, claim, reports_dir, chunk_size=2)
            await run.start()
            seen = []
            more = True
            while more:
                more = await run.step()
                seen.append(await _next(results))  # each step records its progress
            await run.finish()
        assert {m["status"] for m in seen} == {"RUNNING"}
        progress = [m["progress"] for m in seen]
        assert progress == sorted(set(progress)) and 0 < progress[0] and progress[-1] < 1
        # SQLite: 2 rows per step (0.4, 0.8, then the last row); PostgreSQL: COPY, 5 rows at once
        assert progress[:2] == [0.4, 0.8] or progress == [0.99]
        ready = await _next(results)
        assert (ready["status"], ready["progress"], ready["rowCount"]) == ("READY", 1.0, 5)
        assert ready["downloadUrl"] == f"/reports/{created['id']}/download"
        with pytest.raises(StopAsyncIteration):  # the server completes the subscription
            await anext(results)


async def test_a_finished_report_is_sent_once_and_completes(
    app: Starlette, gql: GraphQLClient
) -> None:
    created = await generate(gql, startDate="2026-01-05", endDate="2026-01-05")
    await work(app)
    async with serve(app) as url, GraphQLWebSocket.open(url, gql.key) as socket:
        operation = await socket.subscribe(PROGRESS, {"id": created["id"]})
        messages = [payload async for payload in socket.results(operation)]
    assert [m["data"]["reportProgress"]["status"] for m in messages] == ["READY"]


async def test_another_workspace_cannot_follow_a_report(app: Starlette, gql: GraphQLClient) -> None:
    created = await generate(gql)
    _, other_secret = await new_workspace(app, "Other store")
    async with serve(app) as url, GraphQLWebSocket.open(url, other_secret) as socket:
        for report_id in (created["id"], "not-an-id"):
            operation = await socket.subscribe(PROGRESS, {"id": report_id})
            [payload] = [p async for p in socket.results(operation)]
            assert payload["data"] is None
            assert [e["extensions"]["code"] for e in payload["errors"]] == ["NOT_FOUND"]


@pytest.fixture
async def worker_app(settings: Settings, clock: ManualClock) -> AsyncIterator[Starlette]:
    """The app with the worker running the reports job beside it, as `ticket-stages serve` does."""

    async def worker(services: Services) -> None:
        await run_background(services, [("reports", generate_reports)])

    application = create_app(settings, clock=clock, bus=InProcessBus(), background=worker)
    async with application.router.lifespan_context(application):
        yield application


async def test_the_worker_job_generates_reports_in_the_background(
    worker_app: Starlette, clock: ManualClock
) -> None:
    _, secret = await new_workspace(worker_app)
    transport = httpx.ASGITransport(app=worker_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        gql = GraphQLClient(http, secret)
        ticket = await create_ticket(gql, "alice")
        clock.advance(timedelta(minutes=1))
        async with serve(worker_app) as url, GraphQLWebSocket.open(url, secret) as socket:
            created = await generate(gql, startDate="2026-01-05", endDate="2026-01-05")
            operation = await socket.subscribe(PROGRESS, {"id": created["id"]})
            async with asyncio.timeout(10):
                messages = [p["data"]["reportProgress"] async for p in socket.results(operation)]
        statuses = [m["status"] for m in messages]
        assert statuses[-1] == "READY" and "FAILED" not in statuses
        assert statuses == sorted(statuses, key=["PENDING", "RUNNING", "READY"].index)
        assert (await report(gql, created["id"]))["rowCount"] == 1
        response = await download(http, secret, created["id"])
        assert [row["Ticket ID"] for row in parse_csv(response.content)] == [ticket["id"]]
