"""Fixtures for API tests: the workspace's ADMIN client, and a second workspace."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.api.helpers import Api, workspace_api
from tests.support.graphql import GraphQLClient


@pytest.fixture
def api(gql: GraphQLClient) -> Api:
    return Api(gql)


@pytest.fixture
async def other(app: Starlette, http: httpx.AsyncClient) -> Api:
    """Workspace B, to show that nothing crosses workspaces."""
    return await workspace_api(app, http, "Other store")
