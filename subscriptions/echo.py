"""A publisher that tells this process's own listeners of an event as it is published.

The bus carries an event to every process a little later (through Redis, or through a
subscriber's queue). Caches of this process listen here too, so a change this process has
just committed is never answered from a cache that has not heard of it yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]


class _Publisher(Protocol):
    def publish(self, channel: str, payload: dict[str, Any]) -> None: ...


class LocalEcho:
    def __init__(self, bus: _Publisher) -> None:
        self._bus = bus
        self._listeners: dict[str, list[Listener]] = {}

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        """Call the channel's local listeners (synchronously), then publish on the bus."""
        for listener in tuple(self._listeners.get(channel, ())):
            try:
                listener(payload)
            except Exception:
                logger.exception("a local listener of %s failed", channel)
        self._bus.publish(channel, payload)

    def listen(self, channel: str, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every payload published to `channel` here; returns the undo."""
        self._listeners.setdefault(channel, []).append(listener)

        def stop() -> None:
            listeners = self._listeners.get(channel, [])
            if listener in listeners:
                listeners.remove(listener)
            if not listeners:
                self._listeners.pop(channel, None)

        return stop
