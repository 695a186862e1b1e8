"""Small helpers of the bus tests."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

from subscriptions import Item, Subscription

SHARED_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SHARED_REDIS_HOST = urlsplit(SHARED_REDIS_URL).hostname or "127.0.0.1"
SHARED_REDIS_PORT = urlsplit(SHARED_REDIS_URL).port or 6379


async def next_item(sub: Subscription, within: float = 3.0) -> Item:
    return await asyncio.wait_for(anext(sub), within)


async def items(sub: Subscription, count: int, within: float = 5.0) -> list[Item]:
    async with asyncio.timeout(within):
        return [await anext(sub) for _ in range(count)]
