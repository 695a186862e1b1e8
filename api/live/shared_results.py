"""One GraphQL execution per subscription event, shared by every subscriber that asked the same.

A thousand dashboards subscribed with the same document would otherwise make graphql-core
resolve the same snapshot a thousand times. A subscription resolver marks the object it yields
with ``share(value)`` and yields that same object to every subscriber; the executor below then
executes each distinct (document, variables) once per object and hands the result to the
others. Results with errors are never shared, and nothing else is affected.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any, TypeVar

import orjson
from graphql import ExecutionResult

from api.live.direct_send import remember_executor
from api.plain_fields import PlainFieldsExecutor

T = TypeVar("T")

_RESULTS = "_shared_graphql_results"


def share(value: T) -> T:
    """Mark an event object as shared: its execution results are reused across subscribers."""
    setattr(value, _RESULTS, {})
    return value


def _variables_key(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str) if values else ""


class _Ready:
    """Stands in for a per-event executor whose result is already known."""

    __slots__ = ("result",)

    def __init__(self, result: ExecutionResult) -> None:
        self.result = result

    def execute_operation(self, serially: bool | None = None) -> ExecutionResult:
        return self.result


class SharedResultsExecutor(PlainFieldsExecutor):
    def _shared_key(self) -> tuple[int, str]:
        return (id(self.operation), _variables_key(self.variable_values.coerced))

    def build_per_event_executor(self, payload: Any) -> Any:
        remember_executor(self)
        results = getattr(payload, _RESULTS, None)
        if results is not None:  # skip copying the executor when the result is known
            found = results.get(self._shared_key())
            if found is not None and found[0] is self.operation:
                if isinstance(found[1], ExecutionResult):
                    return _Ready(found[1])
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        results: dict[tuple[int, str], Any] | None = getattr(self.root_value, _RESULTS, None)
        if serially is not False or results is None:  # not a subscription event, or not shared
            return super().execute_operation(serially)
        key = self._shared_key()
        found = results.get(key)
        if found is not None and found[0] is self.operation:
            shared = found[1]
            return self._await_shared(shared) if isinstance(shared, asyncio.Future) else shared
        result: Any = super().execute_operation(serially)
        if not self.is_awaitable(result):
            if not result.errors:
                results[key] = (self.operation, result)
            return result
        pending: asyncio.Future[ExecutionResult] = asyncio.get_running_loop().create_future()
        results[key] = (self.operation, pending)
        return _settle(result, pending, results, key)

    async def _await_shared(self, pending: asyncio.Future[ExecutionResult]) -> ExecutionResult:
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not pending.cancelled() or (task is not None and task.cancelling()):
                raise
        # the subscriber computing the shared result failed or left: compute our own
        result: Any = super().execute_operation(False)
        return await result if self.is_awaitable(result) else result  # type: ignore[no-any-return]


async def _settle(
    result: Awaitable[ExecutionResult],
    pending: asyncio.Future[ExecutionResult],
    results: dict[tuple[int, str], Any],
    key: tuple[int, str],
) -> ExecutionResult:
    try:
        done = await result
    except BaseException:
        results.pop(key, None)
        pending.cancel()
        raise
    if done.errors:
        results.pop(key, None)
    pending.set_result(done)
    return done


class SharedJson:
    """Encodes websocket messages; the data of a `next` message is encoded once per object.

    Subscribers sharing an execution result share its data dict, so a thousand `next` messages
    for one snapshot differ only in their operation id. The newest data objects are kept
    (strongly, so their ids stay theirs) with their JSON text.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._texts: OrderedDict[int, tuple[object, str]] = OrderedDict()

    def encode(self, message: object) -> str:
        if (
            type(message) is dict
            and message.keys() == {"id", "type", "payload"}
            and message["type"] == "next"
            and type(payload := message["payload"]) is dict
            and payload.keys() == {"data"}
            and isinstance(message["id"], str)
        ):
            operation, data = _dumps(message["id"]), self._data(payload["data"])
            return f'{{"id":{operation},"type":"next","payload":{{"data":{data}}}}}'
        return _dumps(message)

    def _data(self, data: object) -> str:
        found = self._texts.get(id(data))
        if found is not None and found[0] is data:
            return found[1]
        text = _dumps(data)
        self._texts[id(data)] = (data, text)
        if len(self._texts) > self._size:
            self._texts.popitem(last=False)
        return text


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()
