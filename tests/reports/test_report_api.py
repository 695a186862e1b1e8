"""The report surface: validation, roles, history, isolation and the download endpoint."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette

from desk.clock import ManualClock
from tests.conftest import new_workspace
from tests.reports.helpers import (
    REPORT,
    create_ticket,
    download,
    generate,
    generate_payload,
    report,
    work,
)
from tests.support.graphql import GraphQLClient

HISTORY = (
    "query($first: Int!, $after: String) { reports(first: $first, after: $after) "
    "{ totalCount pageInfo { hasNextPage endCursor } "
    f"edges {{ cursor node {{ {REPORT} }} }} }} }}"
)


async def _key(gql: GraphQLClient, role: str) -> GraphQLClient:
    payload = await gql.mutate(
        "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) "
        "{ secret userErrors { code } } }",
        {"input": {"name": f"{role.lower()} dashboard", "role": role}},
    )
    return gql.as_key(payload["secret"])


async def test_generate_returns_a_pending_report_at_once(gql: GraphQLClient) -> None:
    manager = await _key(gql, "MANAGER")
    created = await generate(
        manager, name="  January WhatsApp  ", channel="WHATSAPP", timezone="Europe/Berlin"
    )
    assert created["status"] == "PENDING"
    assert created["progress"] == 0.0
    assert created["name"] == "January WhatsApp"
    assert (created["startDate"], created["endDate"]) == ("2026-01-01", "2026-01-31")
    assert (created["channel"], created["timezone"]) == ("WHATSAPP", "Europe/Berlin")
    assert created["createdBy"] == "manager dashboard"
    assert created["rowCount"] is None and created["downloadUrl"] is None
    assert await report(gql, created["id"]) == created


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"name": "   "}, "name", "1 to 100"),
        ({"name": "x" * 101}, "name", "1 to 100"),
        ({"startDate": "2026-02-01", "endDate": "2026-01-31"}, "endDate", "before"),
        ({"startDate": "2025-01-01", "endDate": "2026-01-02"}, "endDate", "366"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"timezone": "../../etc/passwd"}, "timezone", "IANA"),
        ({"timezone": ""}, "timezone", "IANA"),
    ],
)
async def test_bad_requests_are_validation_errors_and_store_nothing(
    gql: GraphQLClient, change: dict[str, str], field: str, fragment: str
) -> None:
    payload = await generate_payload(gql, **change)
    assert payload["report"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("VALIDATION", [field])
    assert fragment in error["message"]
    assert (await gql.ok(HISTORY, {"first": 20}))["reports"]["totalCount"] == 0


async def test_a_leap_year_fits_in_one_report(gql: GraphQLClient) -> None:
    created = await generate(gql, startDate="2028-01-01", endDate="2028-12-31")  # 366 days
    assert created["status"] == "PENDING"


@pytest.mark.parametrize("role", ["AGENT", "VIEWER"])
async def test_only_managers_and_admins_generate_but_everyone_reads(
    gql: GraphQLClient, role: str
) -> None:
    existing = await generate(gql)
    reader = await _key(gql, role)
    result = await reader.execute(
        'mutation { generateReport(input: {name: "x", startDate: "2026-01-01", '
        'endDate: "2026-01-02"}) { report { id } } }'
    )
    assert result.codes == ["FORBIDDEN"]
    data = await reader.ok(HISTORY, {"first": 20})
    assert [e["node"]["id"] for e in data["reports"]["edges"]] == [existing["id"]]


async def test_history_is_newest_first_with_filters_and_pages(
    gql: GraphQLClient, clock: ManualClock
) -> None:
    created = []
    for index in range(5):
        created.append(await generate(gql, name=f"report {index}", channel="SMS"))
        clock.advance(timedelta(minutes=1))
    first = (await gql.ok(HISTORY, {"first": 2}))["reports"]
    assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"]
    rest = (await gql.ok(HISTORY, {"first": 10, "after": first["pageInfo"]["endCursor"]}))[
        "reports"
    ]
    assert not rest["pageInfo"]["hasNextPage"]
    nodes = [e["node"] for e in first["edges"] + rest["edges"]]
    assert [n["name"] for n in nodes] == [f"report {i}" for i in reversed(range(5))]
    assert nodes[0] == created[-1]
    assert {(n["channel"], n["status"], n["createdBy"]) for n in nodes} == {
        ("SMS", "PENDING", "admin key")
    }
    too_many = await gql.execute(HISTORY, {"first": 101})
    assert too_many.codes == ["LIMIT_EXCEEDED"]


async def test_reports_and_downloads_never_cross_workspaces(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await create_ticket(gql, "alice")
    mine = await generate(gql, startDate="2026-01-05", endDate="2026-01-05")
    _, other_secret = await new_workspace(app, "Other store")
    other = gql.as_key(other_secret)
    theirs = await generate(other, startDate="2026-01-05", endDate="2026-01-05")
    await work(app)

    assert await report(other, mine["id"]) is None
    listed = (await other.ok(HISTORY, {"first": 20}))["reports"]
    assert [e["node"]["id"] for e in listed["edges"]] == [theirs["id"]]
    foreign = await download(http, other_secret, mine["id"])
    unknown = await download(http, other_secret, "6f1c1bd6-7bd8-4c55-9d1c-3b8a5e0f1a11")
    malformed = await download(http, other_secret, "not-a-report")
    assert foreign.status_code == unknown.status_code == malformed.status_code == 404
    assert foreign.json() == unknown.json() == malformed.json()
    theirs_file = await download(http, other_secret, theirs["id"])
    assert theirs_file.status_code == 200
    assert theirs_file.content.count(b"\n") == 1  # the other store has no tickets: header only


async def test_download_needs_a_key_and_a_ready_report(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await create_ticket(gql, "alice")
    created = await generate(
        gql, name='Q1 "Café" / ventes: <été>', startDate="2026-01-05", endDate="2026-01-05"
    )

    not_ready = await download(http, gql.key, created["id"])
    assert not_ready.status_code == 409
    assert "PENDING" in not_ready.json()["error"]
    assert (await download(http, None, created["id"])).status_code == 401
    assert (await download(http, "tsk_not-a-real-key", created["id"])).status_code == 401
    assert (await download(http, "Basic abc", created["id"])).status_code == 401

    await work(app)
    ready = await report(gql, created["id"])
    assert ready["downloadUrl"] == f"/reports/{created['id']}/download"
    response = await http.get(ready["downloadUrl"], headers={"authorization": f"Bearer {gql.key}"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Q1 _Cafe_ _ ventes_ _ete.csv"; ')
    assert disposition.endswith(
        "filename*=UTF-8''" + quote("Q1 _Café_ _ ventes_ _été_.csv", safe="")
    )
    assert response.content.startswith(b"Ticket ID,Customer ID,")
