"""A GraphQL client speaking to the real ASGI app over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class GraphQLResult:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    @property
    def codes(self) -> list[str]:
        return [(e.get("extensions") or {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert self.status == 200 and not self.errors, (self.status, self.body)
        return self.data


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, key: str | None) -> None:
        self.http = http
        self.key = key

    def as_key(self, key: str | None) -> GraphQLClient:
        return GraphQLClient(self.http, key)

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> GraphQLResult:
        headers = {"authorization": f"Bearer {self.key}"} if self.key else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        return GraphQLResult(response.status_code, body)

    async def ok(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return (await self.execute(query, variables)).ok()

    async def mutate(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """Run a one-field mutation and return its payload."""
        data = await self.ok(query, variables)
        return next(iter(data.values()))
