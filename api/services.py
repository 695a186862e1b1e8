"""The long-lived parts the app is built from, created once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from api.metrics import Metrics
from desk.service import Desk
from subscriptions.bus import Bus
from ticket_stages.settings import Settings

if TYPE_CHECKING:
    from api.live.counts_feed import CountsFeeds


@dataclass
class Services:
    settings: Settings
    desk: Desk
    bus: Bus
    metrics: Metrics
    # live stage counts of this process: one feed per workspace with subscribers
    live: CountsFeeds = field(init=False)

    def __post_init__(self) -> None:
        from api.live.counts_feed import CountsFeeds  # it imports the GraphQL types

        self.live = CountsFeeds(self.bus, self.desk, on_read=self.metrics.live_counts_reads.inc)
