"""The event bus: publish after commit, subscribe per websocket, one Redis link per process.

``create_bus(redis_url)`` gives an ``InProcessBus`` (no URL) or a ``RedisBus``; both
implement ``Bus`` with the same semantics. See ``Subscription`` for the consumer side.
"""

from subscriptions.bus import Bus, Item, Resync, Subscription
from subscriptions.channels import workspace_channel
from subscriptions.factory import create_bus
from subscriptions.inprocess import InProcessBus
from subscriptions.metrics import BusMetrics, CountingMetrics
from subscriptions.redis_bus import RedisBus
from subscriptions.tuning import RedisTuning

__all__ = [
    "Bus",
    "BusMetrics",
    "CountingMetrics",
    "InProcessBus",
    "Item",
    "RedisBus",
    "RedisTuning",
    "Resync",
    "Subscription",
    "create_bus",
    "workspace_channel",
]
