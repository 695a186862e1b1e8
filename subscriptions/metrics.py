"""Metric hooks of the bus: plain callbacks, so this package needs no metrics library.

Wiring to prometheus-client, for example::

    BusMetrics(
        reconnects=RECONNECTS.inc,
        published=PUBLISHED.inc,
        publish_failures=PUBLISH_FAILURES.inc,
        dropped=lambda reason, n: DROPPED.labels(reason=reason).inc(n),
        subscribers=SUBSCRIBERS.set,
    )
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

# Reasons passed to ``BusMetrics.dropped``.
DROP_SUPERSEDED = "superseded"  # a newer payload for the same channel replaced it in the outbox
DROP_OUTBOX_FULL = "outbox_full"  # the outbox held too many channels while Redis was away
DROP_OVERFLOW = "overflow"  # a slow subscriber's queue was cleared (it got a Resync instead)
DROP_UNENCODABLE = "unencodable"  # publish() got something that is not a JSON object
DROP_UNDECODABLE = "undecodable"  # a message on the wire was not a JSON object
DROP_STOPPED = "stopped"  # published after stop(), or still unsent when stop() gave up


def _ignore_count(amount: int) -> None:
    return None


def _ignore_drop(reason: str, amount: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class BusMetrics:
    """Callbacks; each counter gets the amount to add, ``subscribers`` the current value."""

    reconnects: Callable[[int], object] = _ignore_count
    published: Callable[[int], object] = _ignore_count
    publish_failures: Callable[[int], object] = _ignore_count
    dropped: Callable[[str, int], object] = _ignore_drop
    subscribers: Callable[[int], object] = _ignore_count


@dataclass
class CountingMetrics:
    """Counters in memory (tests, debugging); ``hooks()`` gives the matching BusMetrics."""

    reconnects: int = 0
    published: int = 0
    publish_failures: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    subscribers: int = 0

    def hooks(self) -> BusMetrics:
        def add(name: str) -> Callable[[int], None]:
            def inc(amount: int) -> None:
                setattr(self, name, getattr(self, name) + amount)

            return inc

        def drop(reason: str, amount: int) -> None:
            self.dropped[reason] += amount

        def gauge(value: int) -> None:
            self.subscribers = value

        return BusMetrics(
            reconnects=add("reconnects"),
            published=add("published"),
            publish_failures=add("publish_failures"),
            dropped=drop,
            subscribers=gauge,
        )


class MetricsEmitter:
    """Calls the hooks and never lets a faulty hook break the bus."""

    __slots__ = ("_hooks",)

    def __init__(self, hooks: BusMetrics | None) -> None:
        self._hooks = hooks or BusMetrics()

    def reconnect(self) -> None:
        self._call(self._hooks.reconnects, 1)

    def published(self, amount: int) -> None:
        if amount:
            self._call(self._hooks.published, amount)

    def publish_failures(self, amount: int) -> None:
        if amount:
            self._call(self._hooks.publish_failures, amount)

    def dropped(self, reason: str, amount: int = 1) -> None:
        if amount:
            self._call(self._hooks.dropped, reason, amount)

    def subscribers(self, value: int) -> None:
        self._call(self._hooks.subscribers, value)

    @staticmethod
    def _call(hook: Callable[..., object], *args: object) -> None:
        try:
            hook(*args)
        except Exception:
            logger.exception("bus metrics hook %r failed", hook)
