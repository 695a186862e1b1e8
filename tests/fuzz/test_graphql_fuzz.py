"""Schemathesis fuzzing of the GraphQL API, generated from the committed ``schema.graphql``.

Every query and mutation field gets random documents (valid ones, and invalid ones in
Schemathesis' negative mode) sent with a valid ADMIN key to the real app on the test's
database. IDs are drawn mostly from objects that exist, so resolvers get past NOT_FOUND;
dates, date-times and durations are drawn around the app's clock, with some garbage.
Whatever is sent, the server may refuse it, but never with a 5xx or a masked INTERNAL error.
Time-bounded: a fixed number of examples per database.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.graphql import nodes
from starlette.applications import Starlette

from api.app import create_app
from desk.clock import ManualClock
from subscriptions.inprocess import InProcessBus
from tests.conftest import new_workspace
from tests.support.graphql import GraphQLClient
from ticket_stages.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 250  # per database: about ten seconds each
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no example files in the repository
    derandomize=False,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)

SEED = """
mutation Seed {
  a: createStage(input: {name: "Assigned"}) { stage { id } }
  w: createStage(input: {name: "Waiting on supplier", autoClose: false}) { stage { id } }
  k: createApiKey(input: {name: "agent", role: AGENT}) { apiKey { id } }
  t1: createTicket(input: {customerId: "c-1", channel: EMAIL}) { ticket { id } }
  t2: createTicket(input: {customerId: "c-2", channel: SMS}) { ticket { id } }
  t3: createTicket(input: {customerId: "c-1", channel: WHATSAPP}) { ticket { id } }
  r: generateReport(input: {name: "fuzz", startDate: "2026-01-01", endDate: "2026-01-31"}) {
    report { id }
  }
}
"""


def _datetimes() -> st.SearchStrategy[Any]:
    around_now = st.integers(-400 * 86_400, 400 * 86_400).map(
        lambda s: (NOW + timedelta(seconds=s)).isoformat()
    )
    garbage = st.sampled_from(["", "yesterday", "2026-01-05T09:00:00", "9999-12-31T23:59:59+14:00"])
    return st.one_of(around_now, garbage, st.text(max_size=30)).map(nodes.String)


def _dates() -> st.SearchStrategy[Any]:
    valid = st.dates(
        min_value=NOW.date() - timedelta(days=800), max_value=NOW.date() + timedelta(days=800)
    )
    garbage = st.sampled_from(["", "2026-02-30", "0000-01-01", "2026-1-5"])
    return st.one_of(valid.map(lambda d: d.isoformat()), garbage, st.text(max_size=12)).map(
        nodes.String
    )


def _durations() -> st.SearchStrategy[Any]:
    valid = st.sampled_from(
        ["P3D", "PT12H", "PT2S", "PT0S", "P400D", "PT0.5S", "-P1D", "P1M", "P1Y"]
    )
    return st.one_of(valid, st.text(max_size=12)).map(nodes.String)


def register_scalars(known_ids: list[str]) -> None:
    """Strategies for our scalars (Schemathesis has none for custom ones) and for ID."""
    schemathesis.graphql.scalar("DateTime", _datetimes())
    schemathesis.graphql.scalar("Date", _dates())
    schemathesis.graphql.scalar("Duration", _durations())
    ids = st.one_of(st.sampled_from(known_ids), st.sampled_from(known_ids), st.text(max_size=40))
    schemathesis.graphql.scalar("ID", ids.map(nodes.String))


@asynccontextmanager
async def running_app(database_url: str, reports_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings_ = Settings(
        database_url=database_url, reports_dir=reports_dir, rate_limit_per_minute=100_000
    )
    app: Starlette = create_app(settings_, clock=ManualClock(NOW), bus=InProcessBus())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


async def seed(http: httpx.AsyncClient) -> tuple[str, list[str]]:
    """A workspace with stages, tickets, a second key and a report; its ADMIN key and ids."""
    _, secret = await new_workspace(http.app)  # type: ignore[attr-defined]
    client = GraphQLClient(http, secret)
    created = await client.ok(SEED)
    stages = await client.ok("{ stages(includeDeleted: true) { id } }")
    ids = [stage["id"] for stage in stages["stages"]]
    ids += [created[alias]["ticket"]["id"] for alias in ("t1", "t2", "t3")]
    ids += [created["k"]["apiKey"]["id"], created["r"]["report"]["id"]]
    # the ADMIN key's own id is left out: revoking it would leave only UNAUTHENTICATED to fuzz
    return secret, ids


def check(status: int, text: str, document: str) -> None:
    assert status < 500, f"HTTP {status} for:\n{document}\n{text[:500]}"
    try:
        body = json.loads(text)
    except ValueError:
        return  # a refusal before GraphQL (plain text 4xx) is fine
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code")
        assert code != "INTERNAL", f"INTERNAL error for:\n{document}\n{json.dumps(body)[:500]}"


def test_fuzzing_the_graphql_schema_finds_no_server_error(
    database_url: str, tmp_path: Path
) -> None:
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        http = runner.run(
            stack.enter_async_context(running_app(database_url, tmp_path / "reports"))
        )
        try:
            secret, known_ids = runner.run(seed(http))
            register_scalars(known_ids)
            schema = schemathesis.graphql.from_path(ROOT / "schema.graphql")
            cases = st.one_of(
                schema.as_strategy(GenerationMode.POSITIVE),
                schema.as_strategy(GenerationMode.NEGATIVE),
            )
            headers = {"authorization": f"Bearer {secret}"}
            seen: list[str] = []

            @FUZZ_SETTINGS
            @given(case=cases)
            def fuzz(case: Any) -> None:
                document = str(case.body)
                seen.append(case.operation.label)
                response = runner.run(
                    http.post("/graphql", json={"query": document}, headers=headers)
                )
                check(response.status_code, response.text, document)

            fuzz()
        finally:
            runner.run(stack.aclose())
    # the strategies reached most of the schema, queries and mutations alike
    assert len(set(seen)) >= 15, sorted(set(seen))
    assert any(label.startswith("Mutation.") for label in seen)
