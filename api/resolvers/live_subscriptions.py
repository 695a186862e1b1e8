from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from graphql import GraphQLError

from api.context import Info, actor_of
from api.live.direct_send import send_next
from api.types.analytics import StageChange
from api.types.counts import StageCounts
from api.types.enums import Channel
from api.types.ticket import StageTransition, Ticket
from desk import stage_changes
from desk.access import Permission
from desk.errors import DeskError
from desk.events import TOPIC_CHANGES, channel_name
from subscriptions.bus import Resync, Subscription

CHANGES_QUEUE = 4096  # a bulk move of 1,000 tickets fits with room to spare
CHANGES_BATCH = 500  # events loaded together
CATCH_UP_LIMIT = 5000  # transitions re-read after a break, at most
RECENTLY_SENT = 10_000  # transition ids remembered to never send one twice


async def _next_batch(events: Subscription) -> list[Any]:
    batch = [await events.__anext__()]
    while events.pending and len(batch) < CHANGES_BATCH:
        batch.append(await events.__anext__())
    return batch


class _Sent:
    """Transition ids already sent (bounded), and the highest id seen."""

    def __init__(self, anchor: int) -> None:
        self.anchor = anchor
        self._order: deque[int] = deque()
        self._ids: set[int] = set()

    def __contains__(self, transition_id: int) -> bool:
        return transition_id in self._ids

    def add(self, transition_id: int) -> None:
        self.anchor = max(self.anchor, transition_id)
        self._ids.add(transition_id)
        self._order.append(transition_id)
        if len(self._order) > RECENTLY_SENT:
            self._ids.discard(self._order.popleft())


@strawberry.type
class LiveSubscriptions:
    @strawberry.subscription(
        description=(
            "The current snapshot at once, then a full snapshot with a strictly larger version "
            "after every change of these counts (changes close together are merged). After any "
            "break between the server and Redis, a fresh snapshot."
        )
    )
    async def stage_counts(
        self, info: Info, channel: Channel | None = None
    ) -> AsyncGenerator[StageCounts, None]:
        actor = actor_of(info)
        actor.require(Permission.READ)
        services = info.context.services
        gauge = services.metrics.live_subscriptions.labels(field="stageCounts")
        direct = services.metrics.live_messages.labels(path="direct")
        general = services.metrics.live_messages.labels(path="graphql")
        gauge.inc()
        try:
            async with services.live.watch(actor.workspace_id) as snapshots:
                last_version = -1
                last_content: tuple[object, ...] | None = None
                sent_once = False  # the first goes the general way: then the executor is known
                async for snapshot in snapshots:
                    shown = snapshot.channel(channel)
                    if shown.view.version <= last_version:
                        continue
                    if shown.content == last_content:
                        continue  # a change of another channel
                    last_version, last_content = shown.view.version, shown.content
                    if sent_once and await send_next(shown.graphql):
                        direct.inc()
                        continue
                    sent_once = True
                    general.inc()
                    yield shown.graphql
        finally:
            gauge.dec()

    @strawberry.subscription(
        description=(
            "Every transition in the workspace (optionally only those into or out of one "
            "stage), with the ticket as it is when the change is sent."
        )
    )
    async def stage_changes(
        self, info: Info, stage_id: strawberry.ID | None = None
    ) -> AsyncGenerator[StageChange, None]:
        actor = actor_of(info)
        services = info.context.services
        try:
            watched = await stage_changes.watched_stage(actor, stage_id)
        except DeskError as error:
            raise GraphQLError(error.message, extensions={"code": error.code.value}) from None
        wanted = None if watched is None else str(watched)
        gauge = services.metrics.live_subscriptions.labels(field="stageChanges")
        gauge.inc()
        try:
            channel = channel_name(actor.workspace_id, TOPIC_CHANGES)
            async with services.bus.subscribe(channel, maxsize=CHANGES_QUEUE) as events:
                sent = _Sent(await stage_changes.last_transition_id(actor.workspace_id))
                while True:
                    try:
                        batch = await _next_batch(events)
                    except StopAsyncIteration:
                        return
                    ids: list[int] = []
                    catch_up = False
                    for item in batch:
                        if isinstance(item, Resync):
                            catch_up = True
                            continue
                        transition_id = item.get("transitionId")
                        if not isinstance(transition_id, int) or transition_id in sent:
                            continue
                        if wanted is None or wanted in (
                            item.get("fromStageId"),
                            item.get("toStageId"),
                        ):
                            ids.append(transition_id)
                        else:
                            sent.anchor = max(sent.anchor, transition_id)
                    if catch_up:
                        changes = await stage_changes.changes_after(
                            actor.workspace_id, sent.anchor, watched, CATCH_UP_LIMIT
                        )
                        extra = await stage_changes.changes_by_ids(actor.workspace_id, ids)
                        merged = {t.id: (ticket, t) for ticket, t in [*changes, *extra]}
                        found = [merged[i] for i in sorted(merged)]
                    else:
                        found = await stage_changes.changes_by_ids(actor.workspace_id, ids)
                    for ticket, transition in found:
                        if transition.id in sent:
                            continue
                        sent.add(transition.id)
                        yield StageChange(
                            ticket=Ticket.from_model(ticket),
                            transition=StageTransition(model=transition),
                        )
        finally:
            gauge.dec()
