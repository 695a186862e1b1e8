"""Whether the database answers, for readiness checks."""

from __future__ import annotations

import asyncio
import logging

from desk.sql import fetch

logger = logging.getLogger(__name__)


async def database_reachable(timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(fetch("SELECT 1 AS ok"), timeout)
        return True
    except Exception as error:  # any failure means "not ready"; the reason goes to the log
        logger.warning("database readiness check failed: %s", type(error).__name__)
        return False
