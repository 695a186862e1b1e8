"""Speaking to the report surface of the real app: GraphQL, the download endpoint, the worker."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from starlette.applications import Starlette

from desk.report_generation import process_reports
from models.database import activate
from tests.support.graphql import GraphQLClient

REPORT = (
    "id name startDate endDate channel timezone status progress rowCount error createdAt "
    "completedAt createdBy downloadUrl"
)
ERRORS = "userErrors { code field message }"
TICKET = (
    "id customerId channel createdAt closedAt lastCustomerMessageAt "
    "stage { id name } history { id }"
)


async def generate_payload(gql: GraphQLClient, **input: Any) -> Any:
    input.setdefault("name", "Weekly")
    input.setdefault("startDate", "2026-01-01")
    input.setdefault("endDate", "2026-01-31")
    return await gql.mutate(
        f"mutation($input: GenerateReportInput!) {{ generateReport(input: $input) "
        f"{{ report {{ {REPORT} }} {ERRORS} }} }}",
        {"input": input},
    )


async def generate(gql: GraphQLClient, **input: Any) -> Any:
    payload = await generate_payload(gql, **input)
    assert payload["userErrors"] == [], payload
    return payload["report"]


async def report(gql: GraphQLClient, report_id: str) -> Any:
    data = await gql.ok(f"query($id: ID!) {{ report(id: $id) {{ {REPORT} }} }}", {"id": report_id})
    return data["report"]


async def work(app: Starlette, chunk_size: int = 10_000) -> int:
    """What the background worker does: generate every waiting report."""
    services = app.state.services
    with activate(app.state.database):
        return await process_reports(services.desk, services.settings.reports_dir, chunk_size)


async def create_ticket(gql: GraphQLClient, customer_id: str, channel: str = "WHATSAPP") -> Any:
    payload = await gql.mutate(
        "mutation($input: CreateTicketInput!) { createTicket(input: $input) "
        f"{{ ticket {{ id }} {ERRORS} }} }}",
        {"input": {"customerId": customer_id, "channel": channel}},
    )
    assert payload["userErrors"] == [], payload
    return payload["ticket"]


async def change_stage(gql: GraphQLClient, ticket_id: str, stage_id: str) -> None:
    payload = await gql.mutate(
        "mutation($input: ChangeStageInput!) { changeStage(input: $input) "
        f"{{ ticket {{ id }} {ERRORS} }} }}",
        {"input": {"ticketId": ticket_id, "stageId": stage_id}},
    )
    assert payload["userErrors"] == [], payload


async def customer_message(gql: GraphQLClient, ticket_id: str) -> None:
    payload = await gql.mutate(
        "mutation($input: RecordMessageInput!) { recordMessage(input: $input) "
        f"{{ ticket {{ id }} {ERRORS} }} }}",
        {"input": {"ticketId": ticket_id, "author": "CUSTOMER"}},
    )
    assert payload["userErrors"] == [], payload


async def stage_ids(gql: GraphQLClient) -> dict[str, str]:
    data = await gql.ok("{ stages { id name } }")
    return {s["name"]: s["id"] for s in data["stages"]}


async def tickets(gql: GraphQLClient) -> dict[str, Any]:
    """Every ticket of the workspace by id, as the API shows it."""
    found: dict[str, Any] = {}
    after = None
    while True:
        data = await gql.ok(
            "query($after: String) { tickets(first: 100, after: $after) { pageInfo "
            f"{{ hasNextPage endCursor }} edges {{ node {{ {TICKET} }} }} }} }}",
            {"after": after},
        )
        page = data["tickets"]
        found.update({edge["node"]["id"]: edge["node"] for edge in page["edges"]})
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def download(http: httpx.AsyncClient, key: str | None, report_id: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return await http.get(f"/reports/{report_id}/download", headers=headers)


def parse_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
