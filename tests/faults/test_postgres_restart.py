"""PostgreSQL goes away mid-run and comes back: the same app instance fails cleanly, then serves.

The real app (create_app) runs on a private PostgreSQL server while workers issue mutations
in a loop. The server is shut down (fast, as ``pg_ctl restart -m fast`` does) or killed, left
down for a moment and started again. Every request must end within a few seconds, either as
it should or as a clean failure (a GraphQL error coded UNAVAILABLE or a masked INTERNAL one,
or HTTP 503) that shows no
driver or SQL text; after the restart the app serves again by itself, and the database holds
nothing half-written: counters equal the tickets, versions equal the transitions. The
background worker runs in the same process throughout and still closes what falls due.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from desk.clock import ManualClock, to_us
from models.database import activate
from subscriptions.inprocess import InProcessBus
from tests.conftest import new_workspace
from tests.faults.conftest import assert_pool_whole, sql_rows
from tests.support.graphql import GraphQLClient
from tests.support.postgres_server import PostgresServer
from ticket_stages.settings import Settings
from worker.runner import run_background

REQUEST_DEADLINE = 5.0  # no request may take longer, outage or not
RECOVERY_DEADLINE = 10.0  # the app serves again this soon after the server is back
WORKERS = 4
POOL_SIZE = 6
LEAKS = ("asyncpg", "postgres", "connection", "select ", "insert ", "update ", "traceback", "errno")

PAYLOAD = "{ ticket { id version stage { id } } userErrors { code } }"
CREATE = f"mutation($i: CreateTicketInput!) {{ createTicket(input: $i) {PAYLOAD} }}"
MOVE = f"mutation($i: ChangeStageInput!) {{ changeStage(input: $i) {PAYLOAD} }}"
SNOOZE = f"mutation($i: SnoozeTicketInput!) {{ snoozeTicket(input: $i) {PAYLOAD} }}"
REOPEN = f"mutation($i: ReopenTicketInput!) {{ reopenTicket(input: $i) {PAYLOAD} }}"
MESSAGE = f"mutation($i: RecordMessageInput!) {{ recordMessage(input: $i) {PAYLOAD} }}"
BULK = (
    "mutation($i: BulkChangeStageInput!) { bulkChangeStage(input: $i) "
    "{ moved { id } userErrors { code } } }"
)


@dataclass
class Outcome:
    started: float
    seconds: float
    kind: str  # "ok", "internal", "unavailable" or "bad"
    detail: str = ""


@dataclass
class Log:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, kinds: set[str], since: float = 0.0) -> int:
        return sum(1 for o in self.outcomes if o.kind in kinds and o.started >= since)

    async def wait_for(self, kinds: set[str], count: int, since: float, within: float) -> None:
        deadline = time.monotonic() + within
        while self.count(kinds, since) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"fewer than {count} {kinds} outcomes within {within} s: {self.summary()}"
                )
            await asyncio.sleep(0.02)

    def summary(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for o in self.outcomes:
            kinds[o.kind] = kinds.get(o.kind, 0) + 1
        return kinds


def classify(response: httpx.Response) -> tuple[str, str]:
    text = response.text
    if response.status_code == 503:
        codes = [(e.get("extensions") or {}).get("code") for e in response.json()["errors"]]
        if codes != ["UNAVAILABLE"] or response.headers.get("retry-after") != "1" or _leaks(text):
            return "bad", f"unclean 503: {text[:300]}"
        return "unavailable", ""
    if response.status_code != 200:
        return "bad", f"HTTP {response.status_code}: {text[:300]}"
    body = response.json()
    errors = body.get("errors") or []
    if not errors:
        return "ok", ""
    error_codes = {(e.get("extensions") or {}).get("code") for e in errors}
    messages = {e.get("message") for e in errors}
    clean = {
        "UNAVAILABLE": "The service is briefly unavailable: retry shortly",
        "INTERNAL": "Internal server error",
    }
    if (
        len(error_codes) != 1
        or (code := error_codes.pop()) not in clean
        or messages != {clean[code]}
        or _leaks(json.dumps(body))
    ):
        return "bad", f"unclean error: {json.dumps(body)[:400]}"
    return ("unavailable" if code == "UNAVAILABLE" else "internal"), ""


def _leaks(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in LEAKS)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def app(
    private_database_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Starlette]:
    """The service as `serve` runs it: requests and the background worker in one process."""
    settings = Settings(
        database_url=private_database_url,
        reports_dir=tmp_path / "reports",
        database_pool_size=POOL_SIZE,
        sweep_interval=0.05,
    )
    application = create_app(settings, clock=clock, bus=InProcessBus(), background=run_background)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


class Workload:
    """Random ticket mutations of one workspace, each timed and classified."""

    def __init__(
        self, http: httpx.AsyncClient, secret: str, stage_ids: list[str], log: Log
    ) -> None:
        self.http = http
        self.headers = {"authorization": f"Bearer {secret}"}
        self.stage_ids = stage_ids
        self.tickets: list[str] = []
        self.log = log

    async def call(self, query: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        started = time.monotonic()
        try:
            response = await asyncio.wait_for(
                self.http.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=self.headers
                ),
                REQUEST_DEADLINE,
            )
        except TimeoutError:
            self.log.outcomes.append(
                Outcome(started, time.monotonic() - started, "bad", "timed out")
            )
            return None
        kind, detail = classify(response)
        self.log.outcomes.append(Outcome(started, time.monotonic() - started, kind, detail))
        return response.json()["data"] if kind == "ok" else None

    async def step(self, rng: random.Random) -> None:
        operations: list[Callable[[random.Random], Awaitable[None]]] = [
            self.create,
            self.move,
            self.move,
            self.snooze,
            self.reopen,
            self.message,
            self.bulk,
        ]
        if not self.tickets:
            await self.create(rng)
            return
        await rng.choice(operations)(rng)

    async def create(self, rng: random.Random) -> None:
        data = await self.call(
            CREATE,
            {"i": {"customerId": f"c{rng.randrange(50)}", "channel": rng.choice(["EMAIL", "SMS"])}},
        )
        if data is not None and data["createTicket"]["ticket"] is not None:
            self.tickets.append(data["createTicket"]["ticket"]["id"])

    async def move(self, rng: random.Random) -> None:
        target = rng.choice(self.stage_ids)
        await self.call(MOVE, {"i": {"ticketId": rng.choice(self.tickets), "stageId": target}})

    async def snooze(self, rng: random.Random) -> None:
        await self.call(SNOOZE, {"i": {"ticketId": rng.choice(self.tickets)}})

    async def reopen(self, rng: random.Random) -> None:
        await self.call(REOPEN, {"i": {"ticketId": rng.choice(self.tickets)}})

    async def message(self, rng: random.Random) -> None:
        author = rng.choice(["CUSTOMER", "AGENT"])
        await self.call(MESSAGE, {"i": {"ticketId": rng.choice(self.tickets), "author": author}})

    async def bulk(self, rng: random.Random) -> None:
        chosen = rng.sample(self.tickets, min(len(self.tickets), 5))
        await self.call(BULK, {"i": {"ticketIds": chosen, "stageId": rng.choice(self.stage_ids)}})


async def run_workers(workload: Workload, stop: asyncio.Event) -> None:
    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            await workload.step(rng)
            await asyncio.sleep(0.005)

    await asyncio.gather(*(worker(seed) for seed in range(WORKERS)))


async def readiness(http: httpx.AsyncClient) -> int:
    response = await asyncio.wait_for(http.get("/readyz"), REQUEST_DEADLINE)
    return response.status_code


async def wait_for_readiness(http: httpx.AsyncClient, status: int, within: float) -> float:
    started = time.monotonic()
    while (got := await readiness(http)) != status:
        if time.monotonic() - started > within:
            raise AssertionError(f"/readyz answered {got}, not {status}, for {within} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.parametrize("outage", ["fast_shutdown", "kill"])
async def test_postgres_outage_mid_run(
    outage: str,
    app: Starlette,
    http: httpx.AsyncClient,
    postgres_server: PostgresServer,
    private_database_url: str,
    clock: ManualClock,
) -> None:
    _, secret = await new_workspace(app)
    admin = GraphQLClient(http, secret)
    stages = await admin.ok("{ stages { id kind } }")
    created = await admin.mutate(
        'mutation { createStage(input: {name: "In progress"}) { stage { id } } }'
    )
    stage_ids = [s["id"] for s in stages["stages"] if s["kind"] in ("OPEN", "CLOSED")]
    stage_ids.append(created["stage"]["id"])
    log = Log()
    workload = Workload(http, secret, stage_ids, log)
    stop = asyncio.Event()
    workers = asyncio.create_task(run_workers(workload, stop))
    try:
        await log.wait_for({"ok"}, 30, since=0.0, within=20)
        assert await readiness(http) == 200

        went_down = time.monotonic()
        take_down = postgres_server.stop if outage == "fast_shutdown" else postgres_server.kill
        await asyncio.to_thread(take_down)
        # down for a while: requests keep coming and must fail cleanly and quickly
        await wait_for_readiness(http, 503, within=REQUEST_DEADLINE)
        await log.wait_for({"internal", "unavailable"}, 10, since=went_down, within=10)
        await asyncio.sleep(0.5)

        await asyncio.to_thread(postgres_server.start)
        came_back = time.monotonic()
        await log.wait_for({"ok"}, 30, since=came_back, within=RECOVERY_DEADLINE)
        first_ok = min(
            o.started + o.seconds for o in log.outcomes if o.kind == "ok" and o.started >= came_back
        )
        ready_after = await wait_for_readiness(http, 200, within=RECOVERY_DEADLINE)
    finally:
        stop.set()
        await workers

    bad = [o for o in log.outcomes if o.kind == "bad"]
    assert not bad, bad[:5]
    slowest = max(o.seconds for o in log.outcomes)
    assert slowest < REQUEST_DEADLINE
    print(
        f"\n{outage}: {log.summary()}, slowest request {slowest:.2f} s, first success "
        f"{first_ok - came_back:.2f} s after the restart, ready again after {ready_after:.2f} s"
    )
    await assert_nothing_half_written(private_database_url)
    # the background worker lived through the outage too: a month later, it closes what is due
    clock.advance(timedelta(days=30))
    await wait_until_nothing_due(private_database_url, to_us(clock.now()))
    await assert_nothing_half_written(private_database_url)
    with activate(app.state.database):
        await assert_pool_whole(POOL_SIZE)  # no connection was lost on the way
    # and the app still serves its ordinary reads
    assert (await admin.ok("{ stageCounts { total } }"))["stageCounts"]["total"] == len(
        await sql_rows(private_database_url, "SELECT id FROM ticket")
    )


async def wait_until_nothing_due(url: str, now_us: int, within: float = RECOVERY_DEADLINE) -> None:
    deadline = time.monotonic() + within
    query = f"SELECT COUNT(*) AS due FROM ticket WHERE auto_close_due_us <= {now_us}"
    while (await sql_rows(url, query))[0]["due"]:
        assert time.monotonic() < deadline, "the worker did not auto-close the due tickets"
        await asyncio.sleep(0.05)
    closed = await sql_rows(
        url, "SELECT COUNT(*) AS n FROM ticket WHERE stage_kind = 'AUTO_CLOSED'"
    )
    assert closed[0]["n"] > 0


async def assert_nothing_half_written(url: str) -> None:
    counters = await sql_rows(
        url,
        "SELECT c.stage_id, c.channel, c.count, "
        "(SELECT COUNT(*) FROM ticket t "
        " WHERE t.stage_id = c.stage_id AND t.channel = c.channel) AS actual "
        "FROM stage_counter c",
    )
    assert counters and all(row["count"] == row["actual"] for row in counters), [
        dict(row) for row in counters if row["count"] != row["actual"]
    ]
    orphans = await sql_rows(
        url,
        "SELECT t.id FROM ticket t LEFT JOIN stage_counter c "
        "ON c.stage_id = t.stage_id AND c.channel = t.channel WHERE c.id IS NULL",
    )
    assert not orphans
    versions = await sql_rows(
        url,
        "SELECT t.id, t.version, t.stage_id, "
        "(SELECT COUNT(*) FROM stage_transition s WHERE s.ticket_id = t.id) AS transitions, "
        "(SELECT s.to_stage_id FROM stage_transition s WHERE s.ticket_id = t.id "
        " ORDER BY s.id DESC LIMIT 1) AS last_stage "
        "FROM ticket t",
    )
    assert versions
    for row in versions:
        assert row["version"] == row["transitions"], dict(row)
        assert row["last_stage"] == row["stage_id"], dict(row)
