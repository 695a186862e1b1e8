from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from api.types.payloads import UserError
from desk.errors import DeskError

T = TypeVar("T")


async def attempt(operation: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Run a domain operation; an expected failure becomes userErrors."""
    try:
        return await operation, []
    except DeskError as error:
        return None, [UserError.from_error(error)]
