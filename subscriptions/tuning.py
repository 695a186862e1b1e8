"""Timeouts and sizes of the Redis bus (``create_bus(url, **tuning)``)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class RedisTuning:
    socket_timeout: float = 1.0  # every read/write on a Redis connection
    connect_timeout: float = 1.0  # TCP connect
    heartbeat_interval: float = 1.0  # PING on the listener connection this often...
    heartbeat_timeout: float = 2.0  # ...and reconnect when Redis says nothing for this long
    backoff_initial: float = 0.1  # reconnect delays: doubling from here...
    backoff_max: float = 2.0  # ...up to here, with jitter
    subscribe_timeout: float = 1.0  # how long ``async with bus.subscribe()`` waits for Redis
    publish_timeout: float = 2.0  # upper bound for one batch of PUBLISH commands
    publish_batch: int = 200  # messages per pipeline
    outbox_size: int = 10_000  # messages waiting to be published, at most
    drain_timeout: float = 1.0  # stop() gives the publisher this long to flush
    client_name: str = "ticket-stages-bus"

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, (int, float)) and value <= 0:
                raise ValueError(f"bus tuning {spec.name} must be positive, got {value!r}")
        if self.heartbeat_timeout <= self.heartbeat_interval:
            raise ValueError(
                f"bus tuning heartbeat_timeout ({self.heartbeat_timeout}) must exceed "
                f"heartbeat_interval ({self.heartbeat_interval})"
            )
        if self.backoff_initial > self.backoff_max:
            raise ValueError(
                f"bus tuning backoff_initial ({self.backoff_initial}) must not exceed "
                f"backoff_max ({self.backoff_max})"
            )
