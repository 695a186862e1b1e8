"""Plain attributes are completed directly, with exactly graphql-core's results and errors."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry

from api.plain_fields import PlainFieldsExecutor, plain_fields, value_when_known


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    id: strawberry.ID
    name: str | None
    required: str


RESOLVED: list[str] = []


@value_when_known(lambda node: node.known_leaf)
def _found_leaf(root: Node) -> Leaf:
    RESOLVED.append(str(root.id))
    return root.known_leaf or _leaf(99)


@strawberry.type
class Node:
    id: strawberry.ID
    colour: Colour
    at: datetime
    count: int
    maybe: int | None
    leaf: Leaf
    optional_leaf: Leaf | None
    leaves: list[Leaf]
    gaps: list[Leaf | None] | None
    found: Leaf = strawberry.field(resolver=_found_leaf)
    known_leaf: strawberry.Private[Leaf | None]

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return f"later {self.id}"

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError("this field always fails")


def _leaf(n: int, required: Any = "yes") -> Leaf:
    return Leaf(
        id=strawberry.ID(f"leaf-{n}"), name=None if n % 2 else f"leaf {n}", required=required
    )


def _node(n: int, **overrides: Any) -> Node:
    values: dict[str, Any] = {
        "id": strawberry.ID(f"node-{n}"),
        "colour": Colour.RED if n % 2 else Colour.BLUE,
        "at": datetime(2026, 1, 1, n, tzinfo=UTC),
        "count": n,
        "maybe": None if n % 3 else n,
        "leaf": _leaf(n),
        "optional_leaf": _leaf(n) if n % 2 else None,
        "leaves": [_leaf(n), _leaf(n + 1)],
        "gaps": [_leaf(n), None] if n % 2 else None,
        "known_leaf": _leaf(n + 10) if n % 2 else None,
    }
    values.update(overrides)
    return Node(**values)


NODES: list[Node] = []


@strawberry.type
class Query:
    @strawberry.field
    def nodes(self) -> list[Node]:
        return NODES

    @strawberry.field
    def node(self) -> Node | None:
        return NODES[0] if NODES else None


plain_schema = strawberry.Schema(query=Query, execution_context_class=PlainFieldsExecutor)
general_schema = strawberry.Schema(query=Query)

DOCUMENTS = [
    "{ nodes { id colour at count maybe leaf { id name required } optionalLeaf { id } } }",
    "{ nodes { a: count b: count id later leaf { name } } node { __typename id } }",
    "{ nodes { ... on Node { id colour } leaf { ...L } } } fragment L on Leaf { id required }",
    "{ nodes { id broken optionalLeaf { name } } }",
    "{ node { id leaf { required } } nodes { id leaf { required } } }",
    "{ nodes { count @skip(if: true) id @include(if: true) } }",
    "{ nodes { id leaves { id name required } gaps { id required } } }",
    "{ node { leaves { id later: __typename } gaps { name } } }",
    "{ nodes { id found { id required } } }",
]

CASES = {
    "ordinary": lambda: [_node(n) for n in range(6)],
    "a null where none is allowed": lambda: [_node(1), _node(2, count=None)],
    "a null in a required attribute of a nested object": lambda: [_node(1, leaf=_leaf(1, None))],
    "a value the scalar refuses": lambda: [_node(1, count="not a number"), _node(2)],
    "a value the enum refuses": lambda: [_node(1, colour="GREEN")],
    "a required object missing": lambda: [_node(1, leaf=None)],
    "a missing item in a list that allows none": lambda: [_node(1, leaves=[_leaf(1), None])],
    "a null inside an item of a list": lambda: [_node(1, leaves=[_leaf(1), _leaf(2, None)])],
    "a null inside an item where items may be null": lambda: [_node(1, gaps=[_leaf(2, None)])],
    "not a list at all": lambda: [_node(1, leaves=_leaf(1))],
}


def _shape(result: Any) -> tuple[Any, list[tuple[str, list[Any]]]]:
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("document", DOCUMENTS)
async def test_results_and_errors_equal_graphql_cores(case: str, document: str) -> None:
    NODES[:] = CASES[case]()
    plain = await plain_schema.execute(document)
    general = await general_schema.execute(document)
    assert _shape(plain) == _shape(general)
    if plain.data is not None:  # the order of the selection set too
        assert repr(plain.data) == repr(general.data)


def test_only_attributes_without_resolvers_or_arguments_are_plain() -> None:
    node = plain_schema._schema.get_type("Node")
    assert set(plain_fields(node)) == {
        "id",
        "colour",
        "at",
        "count",
        "maybe",
        "leaf",
        "optionalLeaf",
        "leaves",
        "gaps",
        "found",
    }
    query = plain_schema._schema.get_type("Query")
    assert plain_fields(query) == {}


async def test_a_known_value_is_used_without_calling_its_resolver() -> None:
    NODES[:] = [_node(1), _node(2)]  # the first knows its leaf, the second does not
    RESOLVED.clear()
    result = await plain_schema.execute("{ nodes { id found { id } } }")
    assert result.errors is None and result.data is not None
    assert [n["found"]["id"] for n in result.data["nodes"]] == ["leaf-11", "leaf-99"]
    assert RESOLVED == ["node-2"]
