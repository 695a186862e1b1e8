"""The long-lived parts the app is built from, created once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from api.key_cache import KeyCache
from api.metrics import Metrics
from desk.service import Desk
from subscriptions.bus import Bus
from subscriptions.echo import LocalEcho
from ticket_stages.settings import Settings

if TYPE_CHECKING:
    from api.live.counts_feed import CountsFeeds


@dataclass
class Services:
    settings: Settings
    desk: Desk
    bus: Bus
    metrics: Metrics
    # the desk's publisher when it echoes events to this process's caches as they are published
    echo: LocalEcho | None = None
    # live stage counts of this process: one feed per workspace that is watched or queried
    live: CountsFeeds = field(init=False)
    keys: KeyCache = field(init=False)

    def __post_init__(self) -> None:
        from api.live.counts_feed import CountsFeeds  # it imports the GraphQL types

        echo = self.echo or LocalEcho(self.bus)
        self.keys = KeyCache(self.bus, echo)
        self.live = CountsFeeds(
            self.bus, self.desk, echo=echo, on_read=self.metrics.live_counts_reads.inc
        )

    async def close(self) -> None:
        """Stop the caches' background tasks (before the bus stops)."""
        await self.keys.close()
        await self.live.close()
