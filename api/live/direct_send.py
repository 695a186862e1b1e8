"""Later snapshots of a live subscription sent without strawberry's per-event pipeline.

For every event, graphql-core maps the source stream through an executor and strawberry runs
its extension hooks around the result, before the handler sends it: for a thousand
subscribers of one workspace, most of the cost of a change. A subscription resolver that has
yielded once may instead hand each later object to `send_next`: the same executor completes
it (one shared result per document, see shared_results), and the operation sends it through
strawberry's own `send_next`, so the message is exactly what the handler would have sent. A
result with errors is not sent here: the resolver yields it and strawberry reports it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

# set in the task of one graphql-transport-ws operation, for the code that task runs
_OPERATION: ContextVar[Operation[Any, Any] | None] = ContextVar("ws_operation", default=None)
_EXECUTOR: ContextVar[Any] = ContextVar("subscription_executor", default=None)


class DirectSendHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """Lets the operation's code reach its operation (to send on it)."""

    async def run_operation(self, operation: Operation[Any, Any]) -> None:
        _OPERATION.set(operation)  # the operation's own task: its context ends with it
        await super().run_operation(operation)


def remember_executor(executor: Any) -> None:
    """Called with the subscription's executor when graphql-core maps an event."""
    _EXECUTOR.set(executor)


async def send_next(payload: object) -> bool:
    """Complete `payload` and send it as the operation's next message; False if not done."""
    operation, executor = _OPERATION.get(), _EXECUTOR.get()
    if operation is None or executor is None:
        return False
    result = executor.build_per_event_executor(payload).execute_operation(False)
    if executor.is_awaitable(result):
        result = await result
    if result.errors:
        return False
    await operation.send_next(result)
    return True
