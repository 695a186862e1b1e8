from __future__ import annotations

import strawberry
from graphql import GraphQLError

from api.context import Info, actor_of
from api.types.admin import ApiKey, Viewer, WorkspaceSettings
from api.types.counts import StageCounts
from api.types.enums import Channel
from api.types.inputs import TicketFilter
from api.types.stage import Stage
from api.types.ticket import Ticket, TicketConnection
from desk import analytics, api_keys, stages, ticket_queries, tickets, workspaces
from desk.access import Permission
from desk.errors import DeskError


def _as_graphql_error(error: DeskError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code.value, "field": error.field})


@strawberry.type
class CoreQueries:
    @strawberry.field
    async def viewer(self, info: Info) -> Viewer:
        actor = actor_of(info)
        workspace = await workspaces.get_settings(actor)
        return Viewer(
            workspace_id=strawberry.ID(str(actor.workspace_id)),
            workspace_name=workspace.name,
            api_key_name=actor.name,
            role=actor.role,
        )

    @strawberry.field
    async def stages(self, info: Info, include_deleted: bool = False) -> list[Stage]:
        return [
            Stage.from_model(s) for s in await stages.list_stages(actor_of(info), include_deleted)
        ]

    @strawberry.field
    async def ticket(self, info: Info, id: strawberry.ID) -> Ticket | None:
        model = await tickets.get_ticket(actor_of(info), id)
        return None if model is None else Ticket.from_model(model)

    @strawberry.field(description="Newest first; first <= 100.")
    async def tickets(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        filter: TicketFilter | None = None,
    ) -> TicketConnection:
        actor = actor_of(info)
        where = None
        if filter is not None:
            where = ticket_queries.TicketFilter(
                stage_ids=None if filter.stage_ids is None else [str(i) for i in filter.stage_ids],
                stage_kinds=filter.stage_kinds,
                channel=filter.channel,
                customer_id=filter.customer_id,
                created_after=filter.created_after,
                created_before=filter.created_before,
            )
        try:
            page = await ticket_queries.list_tickets(actor, first, after, where)
        except DeskError as error:
            raise _as_graphql_error(error) from None
        return TicketConnection.from_page(page)

    @strawberry.field
    async def stage_counts(self, info: Info, channel: Channel | None = None) -> StageCounts:
        actor = actor_of(info)
        services = info.context.services
        actor.require(Permission.READ)
        snapshot = await services.live.snapshot(actor.workspace_id)
        if snapshot is not None:
            return snapshot.channel(channel).graphql
        view = await analytics.stage_counts(services.desk, actor, channel)
        return StageCounts.from_view(view)

    @strawberry.field
    async def settings(self, info: Info) -> WorkspaceSettings:
        return WorkspaceSettings.from_model(await workspaces.get_settings(actor_of(info)))

    @strawberry.field(description="ADMIN only.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        actor = actor_of(info)
        actor.require(Permission.ADMINISTER)
        return [ApiKey.from_model(k) for k in await api_keys.list_keys(actor)]
