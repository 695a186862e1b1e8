"""Waiting, in tests, for something that happens in the background."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    within: float = 5.0,
    interval: float = 0.02,
    what: str = "condition",
) -> float:
    """Poll until ``check()`` is true; returns the seconds it took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return loop.time() - began
        if loop.time() - began > within:
            raise AssertionError(f"{what} not reached within {within}s")
        await asyncio.sleep(interval)
