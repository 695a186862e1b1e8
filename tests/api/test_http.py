"""The HTTP surface: GraphiQL, GET for queries only, health, readiness, metrics, masked errors."""

from __future__ import annotations

import logging
from datetime import datetime

import httpx
import pytest

from desk.clock import ManualClock
from tests.api.helpers import Api

CREATE_TICKET = 'mutation { createTicket(input: {customerId: "c", channel: SMS}) { __typename } }'


class BreakableClock(ManualClock):
    """A clock that fails on demand: an unexpected error deep inside the domain."""

    broken = False

    def now(self) -> datetime:
        if self.broken:
            raise RuntimeError("connection to db.internal:5432 failed, password=hunter2")
        return super().now()


@pytest.fixture
def clock() -> BreakableClock:
    return BreakableClock()


async def test_graphiql_is_served_to_browsers(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_queries_over_get(api: Api, http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={"query": "{ viewer { role } }"},
        headers={"authorization": f"Bearer {api.key}", "accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"role": "ADMIN"}}}


async def test_mutations_over_get_are_refused(api: Api, http: httpx.AsyncClient) -> None:
    before = await api.snapshot()
    response = await http.get(
        "/graphql",
        params={"query": CREATE_TICKET},
        headers={"authorization": f"Bearer {api.key}", "accept": "application/json"},
    )
    assert 400 <= response.status_code < 500
    assert "mutation" in response.text.lower()
    assert await api.snapshot() == before


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    health = await http.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["checks"]["database"] is True


async def test_metrics_in_prometheus_text_format(api: Api, http: httpx.AsyncClient) -> None:
    await api.ok("{ viewer { role } }")
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert any(line.startswith("# TYPE ticket_stages_") for line in lines)
    samples = [line for line in lines if line and not line.startswith("#")]
    assert samples and all(len(line.rsplit(" ", 1)) == 2 for line in samples)
    assert any(line.startswith("ticket_stages_graphql_operations_total{") for line in samples)


async def test_unexpected_errors_are_masked_logged_and_change_nothing(
    api: Api, other: Api, clock: BreakableClock, caplog: pytest.LogCaptureFixture
) -> None:
    await api.create_ticket()
    before = await api.snapshot()
    clock.broken = True
    with caplog.at_level(logging.ERROR):
        # a workspace not read yet: its counts must be read (and stamped with the clock)
        read = await other.execute("{ stageCounts { total } }")
        write = await api.execute(
            'mutation { createTicket(input: {customerId: "c", channel: SMS}) { ticket { id } } }'
        )
    clock.broken = False
    for result in (read, write):
        assert result.status == 200 and result.data is None
        (error,) = result.errors
        assert error["message"] == "Internal server error"
        assert error["extensions"]["code"] == "INTERNAL"
        assert error["extensions"]["requestId"]
        assert "hunter2" not in str(result.body) and "Traceback" not in str(result.body)
    assert read.errors[0]["extensions"]["requestId"] != write.errors[0]["extensions"]["requestId"]
    logged = [r for r in caplog.records if r.name == "ticket_stages.api"]
    assert all(r.exc_info and "hunter2" in str(r.exc_info[1]) for r in logged)
    assert {getattr(r, "request_id", None) for r in logged} == {
        read.errors[0]["extensions"]["requestId"],
        write.errors[0]["extensions"]["requestId"],
    }
    assert await api.snapshot() == before


async def test_expected_errors_carry_their_code_and_field(api: Api) -> None:
    result = await api.execute("{ tickets(first: 500) { totalCount } }")
    (error,) = result.errors
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "field": ["first"]}
    assert error["message"] == "first is at most 100"
    payload = await api.create_ticket_payload(customerId="")
    (user_error,) = payload["userErrors"]
    assert user_error["code"] == "VALIDATION" and user_error["field"] == ["customerId"]
    assert "customerId" in user_error["message"]


async def test_nul_characters_in_text_are_validation_errors(api: Api) -> None:
    result = await api.execute(
        "query($c: String) { tickets(filter: {customerId: $c}) { totalCount } }", {"c": "a\x00b"}
    )
    assert result.codes == ["VALIDATION"]
    assert (await api.create_key("nul\x00", "AGENT"))["userErrors"][0]["code"] == "VALIDATION"


async def test_expected_errors_are_not_logged_as_server_errors(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    viewer = await api.key_for("VIEWER")
    with caplog.at_level(logging.WARNING):
        assert (await api.as_key(None).execute("{ viewer { role } }")).codes == ["UNAUTHENTICATED"]
        assert (await viewer.execute(CREATE_TICKET)).codes == ["FORBIDDEN"]
        assert (await api.execute("{ tickets(first: 500) { totalCount } }")).codes == [
            "LIMIT_EXCEEDED"
        ]
        assert (await api.execute("{ nope }")).codes == ["BAD_REQUEST"]
        assert (await api.create_ticket_payload(customerId=""))["userErrors"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_metrics_count_and_time_each_operation_by_name(
    api: Api, http: httpx.AsyncClient
) -> None:
    await api.ok("query Wallboard { stageCounts { total } }")
    await api.ok("query Wallboard { stageCounts { total } }")
    text = (await http.get("/metrics")).text
    operation = 'operation="Wallboard"'
    assert (
        f'ticket_stages_graphql_operations_total{{{operation},outcome="ok",type="query"}} 2.0'
        in text
    )
    assert f'ticket_stages_graphql_operation_seconds_count{{{operation},type="query"}} 2.0' in text
    for family in (
        "ticket_stages_live_subscriptions",
        "ticket_stages_sweep_tickets_total",
        "ticket_stages_bus_reconnects_total",
    ):
        assert f"# TYPE {family}" in text, family
