"""Every root field of the schema as a valid document, built from introspection.

Used by the tests that must cover every query and mutation (authentication), so a field added
later is covered without editing the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.graphql import GraphQLClient

INTROSPECTION = """
{ __schema {
    queryType { name } mutationType { name }
    types { name kind
      fields { name args { name defaultValue type { ...T } } type { ...T } }
      inputFields { name defaultValue type { ...T } }
      enumValues { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
"""

SCALAR_SAMPLES: dict[str, Any] = {
    "ID": "00000000-0000-0000-0000-000000000000",
    "String": "sample",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "DateTime": "2026-01-05T09:00:00+00:00",
    "Date": "2026-01-05",
    "Duration": "P1D",
}


@dataclass(frozen=True)
class Operation:
    kind: str  # "query" or "mutation"
    field: str
    document: str
    variables: dict[str, Any]


def _named(type_ref: dict[str, Any]) -> dict[str, Any]:
    while type_ref.get("ofType"):
        type_ref = type_ref["ofType"]
    return type_ref


def _type_text(type_ref: dict[str, Any]) -> str:
    if type_ref["kind"] == "NON_NULL":
        return _type_text(type_ref["ofType"]) + "!"
    if type_ref["kind"] == "LIST":
        return f"[{_type_text(type_ref['ofType'])}]"
    return str(type_ref["name"])


class _Schema:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.types = {t["name"]: t for t in schema["types"]}
        self.query = schema["queryType"]["name"]
        self.mutation = (schema["mutationType"] or {}).get("name")

    def sample(self, type_ref: dict[str, Any]) -> Any:
        if type_ref["kind"] == "NON_NULL":
            return self.sample(type_ref["ofType"])
        if type_ref["kind"] == "LIST":
            return [self.sample(type_ref["ofType"])]
        named = self.types[type_ref["name"]]
        if named["kind"] == "ENUM":
            return named["enumValues"][0]["name"]
        if named["kind"] == "INPUT_OBJECT":
            return {
                f["name"]: self.sample(f["type"])
                for f in named["inputFields"]
                if f["type"]["kind"] == "NON_NULL" and f["defaultValue"] is None
            }
        return SCALAR_SAMPLES.get(named["name"], "sample")

    def selection(self, returned: dict[str, Any]) -> str:
        if returned["kind"] not in ("OBJECT", "INTERFACE", "UNION"):
            return ""
        fields = {f["name"] for f in returned.get("fields") or []}
        errors = " userErrors { code field }" if "userErrors" in fields else ""
        return f" {{ __typename{errors} }}"

    def operations(self, kind: str) -> list[Operation]:
        root = self.query if kind == "query" else self.mutation
        if root is None:
            return []
        found = []
        for field in self.types[root]["fields"]:
            required = [
                a
                for a in field["args"]
                if a["type"]["kind"] == "NON_NULL" and a["defaultValue"] is None
            ]
            declarations = ", ".join(f"${a['name']}: {_type_text(a['type'])}" for a in required)
            arguments = ", ".join(f"{a['name']}: ${a['name']}" for a in required)
            selection = self.selection(self.types[_named(field["type"])["name"]])
            document = (
                f"{kind}{f'({declarations})' if declarations else ''} "
                f"{{ {field['name']}{f'({arguments})' if arguments else ''}{selection} }}"
            )
            variables = {a["name"]: self.sample(a["type"]) for a in required}
            found.append(Operation(kind, field["name"], document, variables))
        return found


async def root_operations(gql: GraphQLClient) -> list[Operation]:
    """One valid document per root query and mutation field (subscriptions are websocket-only)."""
    schema = _Schema((await gql.ok(INTROSPECTION))["__schema"])
    return schema.operations("query") + schema.operations("mutation")
