"""Repeated stageCounts queries come from memory, and never miss a change.

Every test runs on the in-process bus and on real Redis: the kept answers and the cached
keys are only trusted while the bus carries the workspace's events.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from desk.clock import ManualClock
from subscriptions.inprocess import InProcessBus
from tests.api.helpers import Api
from tests.conftest import new_workspace
from tests.live.conftest import SHARED_REDIS_URL, require_shared_redis
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from ticket_stages.settings import Settings

COUNTS = (
    "query($c: Channel) { stageCounts(channel: $c) "
    "{ version total counts { stage { name autoClose } count } } }"
)


@pytest.fixture(params=["in-process", "redis"])
def bus_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "redis":
        require_shared_redis()
        return settings.with_(redis_url=SHARED_REDIS_URL)
    return settings


@contextlib.asynccontextmanager
async def running(
    config: Settings, clock: ManualClock, bus: Any = None
) -> AsyncIterator[Starlette]:
    application = create_app(config, clock=clock, bus=bus)
    async with application.router.lifespan_context(application):
        yield application


@contextlib.asynccontextmanager
async def two_processes(
    config: Settings, clock: ManualClock
) -> AsyncIterator[tuple[Starlette, Starlette]]:
    """Two apps on one database and one bus (shared in-process, or each its own Redis link)."""
    shared_bus = None if config.redis_url else InProcessBus()
    async with (
        running(config, clock, shared_bus) as here,
        running(config, clock, shared_bus) as there,
    ):
        yield here, there


@pytest.fixture
async def app(bus_settings: Settings, clock: ManualClock) -> AsyncIterator[Starlette]:
    bus = None if bus_settings.redis_url else InProcessBus()
    async with running(bus_settings, clock, bus) as application:
        yield application


def client(application: Starlette, key: str) -> GraphQLClient:
    transport = httpx.ASGITransport(app=application)
    return GraphQLClient(httpx.AsyncClient(transport=transport, base_url="http://t"), key)


async def counts(gql: GraphQLClient | Api, channel: str | None = None) -> dict[str, Any]:
    data = await gql.ok(COUNTS, {"c": channel})
    return dict(data["stageCounts"])


def kept(application: Starlette, workspace_id: str) -> dict[tuple[str, ...], bytes]:
    snapshot = application.state.services.live.current(uuid.UUID(workspace_id))
    return {} if snapshot is None else snapshot.responses


async def warmed(application: Starlette, gql: GraphQLClient, workspace_id: str) -> None:
    """Ask until an answer is kept: the key cache and the feed fill on the first requests."""
    for _ in range(5):
        if kept(application, workspace_id):
            return
        await counts(gql)
    pytest.fail("no answer was kept after five requests")


async def test_a_repeated_query_is_answered_with_the_kept_response(app: Starlette) -> None:
    workspace_id, key = await new_workspace(app)
    gql = client(app, key)
    first = await counts(gql)
    await warmed(app, gql, workspace_id)
    assert await counts(gql) == first
    answers = kept(app, workspace_id)
    assert len(answers) == 1
    # what is kept is what is sent: prove it by changing what is kept
    (request,) = answers
    answers[request] = answers[request].replace(b'"total":0', b'"total":12345')
    assert (await counts(gql))["total"] == 12345


async def test_every_change_is_seen_by_the_next_query(app: Starlette, api: Api) -> None:
    stage = await api.create_stage("Waiting")
    before = await counts(api)
    for n in range(1, 4):
        ticket = await api.create_ticket(customerId=f"c{n}", channel="EMAIL")
        now = await counts(api)
        assert now["total"] == before["total"] + n
        assert now["version"] > before["version"]
        await api.change_stage(ticket["id"], stage["id"])
        assert _count(await counts(api), "Waiting") == n
    await api.update_stage(stage["id"], name="On hold")
    assert _count(await counts(api), "On hold") == 3
    await api.update_stage(stage["id"], autoClose=False)
    shown = {c["stage"]["name"]: c["stage"]["autoClose"] for c in (await counts(api))["counts"]}
    assert shown["On hold"] is False
    await api.delete_stage(stage["id"])
    assert "On hold" not in {c["stage"]["name"] for c in (await counts(api))["counts"]}
    assert _count(await counts(api), "Open") == 3


def _count(shown: dict[str, Any], stage: str) -> int:
    return next(c["count"] for c in shown["counts"] if c["stage"]["name"] == stage)


async def test_answers_are_kept_per_request_and_role(app: Starlette, api: Api) -> None:
    await api.create_ticket(customerId="c", channel="EMAIL")
    viewer = await api.key_for("VIEWER")
    assert (await counts(api, "EMAIL"))["total"] == 1
    assert (await counts(api, "WHATSAPP"))["total"] == 0
    assert (await counts(viewer, "EMAIL"))["total"] == 1
    assert (await counts(api, "EMAIL"))["total"] == 1
    assert (await counts(api, "WHATSAPP"))["total"] == 0
    assert (await counts(viewer, "WHATSAPP"))["total"] == 0


async def test_errors_and_other_documents_are_never_kept(app: Starlette, api: Api) -> None:
    workspace_id = (await api.ok("{ viewer { workspaceId } }"))["viewer"]["workspaceId"]
    mixed = "{ stageCounts { total } tickets(first: 1) { edges { node { id } } } }"
    for _ in range(2):
        await api.ok(mixed)
        assert (await api.execute("{ stageCounts { nope } }")).codes == ["BAD_REQUEST"]
        assert (await api.as_key(None).execute(COUNTS)).codes == ["UNAUTHENTICATED"]
        assert (await api.as_key("tsk_unknown").execute(COUNTS)).codes == ["UNAUTHENTICATED"]
    assert kept(app, workspace_id) == {}


async def test_the_request_id_of_a_kept_answer_is_the_callers(app: Starlette) -> None:
    _, key = await new_workspace(app)
    headers = {"authorization": f"Bearer {key}", "x-request-id": "dashboard-0001"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        for _ in range(3):
            response = await http.post("/graphql", json={"query": COUNTS}, headers=headers)
            assert response.status_code == 200
            assert response.headers["x-request-id"] == "dashboard-0001"
            assert response.headers["content-type"] == "application/json"


async def test_a_change_made_by_another_process_is_seen_once_its_event_arrives(
    bus_settings: Settings, clock: ManualClock
) -> None:
    async with two_processes(bus_settings, clock) as (here, there):
        workspace_id, key = await new_workspace(here)
        mine, theirs = client(here, key), client(there, key)
        assert (await counts(mine))["total"] == 0
        await warmed(here, mine, workspace_id)
        await theirs.mutate(
            'mutation { createTicket(input: {customerId: "x", channel: EMAIL}) { ticket { id } } }'
        )

        async def seen() -> bool:
            return (await counts(mine))["total"] == 1

        await eventually(seen)


async def test_a_cached_key_is_refused_as_soon_as_it_is_revoked(app: Starlette, api: Api) -> None:
    payload = await api.create_key("wallboard", "VIEWER")
    wallboard = api.as_key(payload["secret"])
    keys = app.state.services.keys

    async def remembered() -> bool:  # once the workspace's key events are followed
        await counts(wallboard)
        return keys.cached(payload["secret"]) is not None

    await eventually(remembered)
    lookups = keys.lookups
    for _ in range(3):
        await counts(wallboard)
    assert keys.lookups == lookups  # answered from memory
    await api.revoke_key(payload["apiKey"]["id"])
    assert (await wallboard.execute(COUNTS)).codes == ["UNAUTHENTICATED"]


async def test_a_key_revoked_by_another_process_is_refused_once_its_event_arrives(
    bus_settings: Settings, clock: ManualClock
) -> None:
    async with two_processes(bus_settings, clock) as (here, there):
        _, admin = await new_workspace(here)
        created = await client(here, admin).mutate(
            'mutation { createApiKey(input: {name: "tv", role: VIEWER}) { apiKey { id } secret } }'
        )
        tv = client(here, created["secret"])
        for _ in range(3):
            await counts(tv)
        await client(there, admin).mutate(
            "mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { revoked } } }",
            {"id": created["apiKey"]["id"]},
        )

        async def refused() -> bool:
            return (await tv.execute(COUNTS)).codes == ["UNAUTHENTICATED"]

        await eventually(refused)


async def test_a_cached_key_is_looked_up_again_after_its_max_age(app: Starlette) -> None:
    _, key = await new_workspace(app)
    keys = app.state.services.keys
    keys.max_age = 0.0
    gql = client(app, key)
    await counts(gql)
    lookups = keys.lookups
    await counts(gql)
    await counts(gql)
    assert keys.lookups == lookups + 2


async def test_a_kept_answer_is_only_for_the_same_kind_of_request(app: Starlette) -> None:
    workspace_id, key = await new_workspace(app)
    gql = client(app, key)
    await warmed(app, gql, workspace_id)
    body = json.dumps({"query": COUNTS, "variables": {"c": None}})
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        as_text = await http.post(
            "/graphql", content=body, headers={**headers, "content-type": "text/plain"}
        )
        assert as_text.status_code != 200 or "errors" in as_text.json()
        over_get = await http.get(
            "/graphql", params={"query": COUNTS}, headers={**headers, "accept": "application/json"}
        )
        assert over_get.status_code == 200 and over_get.json()["data"]["stageCounts"]
