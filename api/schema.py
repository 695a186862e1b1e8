"""The GraphQL schema, assembled from the resolver modules."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from api.depth_limit import MaxDepthLimiter
from api.errors import ShapeErrors
from api.limits import MAX_ALIASES, MAX_QUERY_DEPTH, MAX_TOKENS
from api.operation_metrics import OperationMetrics
from api.resolvers.admin_mutations import AdminMutations
from api.resolvers.query import CoreQueries
from api.resolvers.ticket_mutations import TicketMutations
from api.scalars import SCALAR_MAP


@strawberry.type
class Query(CoreQueries):
    pass


@strawberry.type
class Mutation(TicketMutations, AdminMutations):
    pass


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            ShapeErrors,
            OperationMetrics,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=512),
            lambda: MaxDepthLimiter(MAX_QUERY_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: ValidationCache(maxsize=512),
        ],
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
