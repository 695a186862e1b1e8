"""Expected failures: data with a code, mapped to userErrors by the API."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    SYSTEM_STAGE = "SYSTEM_STAGE"
    DUPLICATE_NAME = "DUPLICATE_NAME"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


class DeskError(Exception):
    """An expected failure of an operation: nothing was changed."""

    def __init__(self, code: ErrorCode, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class Forbidden(Exception):
    """The caller's role may not do this."""


def not_found(what: str, field: list[str] | None = None) -> DeskError:
    return DeskError(ErrorCode.NOT_FOUND, f"{what} not found", field)


def invalid(message: str, *field: str) -> DeskError:
    return DeskError(ErrorCode.VALIDATION, message, list(field) or None)
