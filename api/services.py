"""The long-lived parts the app is built from, created once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from api.metrics import Metrics
from desk.service import Desk
from subscriptions.bus import Bus
from ticket_stages.settings import Settings


@dataclass
class Services:
    settings: Settings
    desk: Desk
    bus: Bus
    metrics: Metrics
