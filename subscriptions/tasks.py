"""Stopping background tasks for sure.

On Python 3.11 a cancellation can be lost when it lands just as an inner ``asyncio.wait_for``
completes (redis-py uses one for every socket write), so one ``cancel()`` is not enough.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

logger = logging.getLogger(__name__)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[None]], *, grace: float = 1.0) -> None:
    """Cancel the tasks and wait until they are done, cancelling again every ``grace`` s."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        try:
            _done, pending = await asyncio.wait(pending, timeout=grace)
        except asyncio.CancelledError:
            for task in pending:
                task.cancel()
            raise
        for task in pending:
            logger.warning("task %s is still running after cancel(); cancelling again", task)
