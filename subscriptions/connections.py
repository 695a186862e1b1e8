"""Redis connections of the bus, built from REDIS_URL with short timeouts and no hidden
retries: the bus does its own reconnecting, so it can tell subscribers about it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig

from subscriptions.tuning import RedisTuning


def _options(tuning: RedisTuning, role: str) -> dict[str, Any]:
    return {
        "socket_timeout": tuning.socket_timeout,
        "socket_connect_timeout": tuning.connect_timeout,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
        "client_name": f"{tuning.client_name}:{role}",
        # its "relaxed" 10 s timeouts would defeat ours, and it needs RESP3
        "maint_notifications_config": MaintNotificationsConfig(enabled=False),
    }


def publisher_client(url: str, tuning: RedisTuning) -> Redis:
    """The client for PUBLISH and PING (a small pool: publisher and /readyz pings)."""
    return Redis.from_url(url, **_options(tuning, "publisher"))


def listener_connection_factory(url: str, tuning: RedisTuning) -> Callable[[], AbstractConnection]:
    """Makes the single pub/sub connection (RESP2: messages are plain arrays).

    It has no socket_timeout: every read carries its own deadline (the heartbeat), the
    handshake is bounded by the listener, and writes then avoid redis-py's ``wait_for``,
    which can lose a cancellation on Python 3.11.
    """
    pool = ConnectionPool.from_url(url, protocol=2, **_options(tuning, "listener"))
    pool.connection_kwargs.update(protocol=2, decode_responses=False, socket_timeout=None)
    return pool.make_connection


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))
