"""The GraphQL schema, assembled from the resolver modules."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from api.errors import is_expected
from api.live.shared_results import SharedResultsExecutor
from api.operation_hooks import OperationHooks
from api.resolvers.admin_mutations import AdminMutations
from api.resolvers.analytics_queries import AnalyticsQueries
from api.resolvers.live_subscriptions import LiveSubscriptions
from api.resolvers.query import CoreQueries
from api.resolvers.report_mutations import ReportMutations
from api.resolvers.report_queries import ReportQueries
from api.resolvers.report_subscriptions import ReportSubscriptions
from api.resolvers.ticket_mutations import TicketMutations
from api.scalars import SCALAR_MAP


@strawberry.type
class Query(CoreQueries, AnalyticsQueries, ReportQueries):
    pass


@strawberry.type
class Mutation(TicketMutations, AdminMutations, ReportMutations):
    pass


@strawberry.type
class Subscription(LiveSubscriptions, ReportSubscriptions):
    pass


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only unexpected errors: a refused key, role or input is an answer, not a fault."""
        super().process_errors([e for e in errors if not is_expected(e)], execution_context)


def build_schema() -> strawberry.Schema:
    return _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            OperationHooks,
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
        ],
        execution_context_class=SharedResultsExecutor,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
