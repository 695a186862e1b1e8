"""One execution per shared subscription event and distinct document, never mixed up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.extensions import ParserCache

from api.live.shared_results import SharedResultsExecutor, share

calls: dict[str, int] = {"name": 0, "slow": 0}
EVENTS: list[Any] = []


@strawberry.type
class Item:
    value: int

    @strawberry.field
    def name(self, prefix: str = "") -> str:
        calls["name"] += 1
        return f"{prefix}{self.value}"

    @strawberry.field
    async def slow(self) -> int:
        calls["slow"] += 1
        await asyncio.sleep(0.01)
        return self.value * 2

    @strawberry.field
    def broken(self) -> int | None:
        raise ValueError("no")


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def items(self, shared: bool = True) -> AsyncGenerator[Item, None]:
        for event in EVENTS:
            yield event if shared else Item(value=event.value)


# as in the app: the parser cache hands every subscriber of one document the same AST
schema = strawberry.Schema(
    query=Query,
    subscription=Subscription,
    execution_context_class=SharedResultsExecutor,
    extensions=[lambda: ParserCache(maxsize=16)],
)


async def collect(query: str, variables: dict[str, Any] | None = None) -> list[Any]:
    stream = await schema.subscribe(query, variable_values=variables)
    return [(r.data, bool(r.errors)) async for r in stream]  # type: ignore[union-attr]


async def test_subscribers_with_one_document_share_each_execution() -> None:
    EVENTS[:] = [share(Item(value=1)), share(Item(value=2))]
    calls.update(name=0, slow=0)
    query = "subscription($p: String!) { items { value name(prefix: $p) slow } }"
    results = await asyncio.gather(*(collect(query, {"p": "#"}) for _ in range(50)))
    assert all(r == results[0] for r in results)
    assert results[0] == [
        ({"items": {"value": 1, "name": "#1", "slow": 2}}, False),
        ({"items": {"value": 2, "name": "#2", "slow": 4}}, False),
    ]
    assert calls == {"name": 2, "slow": 2}, "one execution per event for fifty subscribers"


async def test_other_variables_or_documents_or_unshared_events_are_executed_apart() -> None:
    EVENTS[:] = [share(Item(value=7))]
    calls.update(name=0, slow=0)
    query = "subscription($p: String!, $s: Boolean!) { items(shared: $s) { name(prefix: $p) } }"
    a = await collect(query, {"p": "a", "s": True})
    b = await collect(query, {"p": "b", "s": True})
    c = await collect("subscription { items { name } }")
    d = await collect(query, {"p": "a", "s": False})
    assert [a, b, c, d] == [
        [({"items": {"name": "a7"}}, False)],
        [({"items": {"name": "b7"}}, False)],
        [({"items": {"name": "7"}}, False)],
        [({"items": {"name": "a7"}}, False)],
    ]
    assert calls["name"] == 4


async def test_results_with_errors_are_not_shared() -> None:
    EVENTS[:] = [share(Item(value=3))]
    calls.update(name=0, slow=0)
    query = "subscription { items { name broken } }"
    first = await collect(query)
    second = await collect(query)
    assert first == second == [({"items": {"name": "3", "broken": None}}, True)]
    assert calls["name"] == 2


def test_messages_are_encoded_as_json_and_shared_data_once() -> None:
    from api.live.shared_results import SharedJson

    encoder = SharedJson(size=2)
    data = {"stageCounts": {"version": 3, "name": 'quote " and \u00e9'}}
    first = encoder.encode({"id": "1", "type": "next", "payload": {"data": data}})
    second = encoder.encode({"id": "2", "type": "next", "payload": {"data": data}})
    assert json.loads(first) == {"id": "1", "type": "next", "payload": {"data": data}}
    assert json.loads(second)["id"] == "2" and json.loads(second)["payload"]["data"] == data
    with_errors = {"id": "3", "type": "next", "payload": {"data": None, "errors": [{"m": 1}]}}
    assert json.loads(encoder.encode(with_errors)) == with_errors
    for other in ({"type": "connection_ack"}, {"id": "4", "type": "complete"}, [1, 2]):
        assert json.loads(encoder.encode(other)) == other
