"""One place that shapes errors for clients: codes for the expected, a mask for the rest."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from desk.errors import DeskError, Forbidden
from desk.health import is_database_outage

logger = logging.getLogger("ticket_stages.api")

INTERNAL_MESSAGE = "Internal server error"
UNAVAILABLE_MESSAGE = "The service is briefly unavailable: retry shortly"


def _meant_for_the_client(error: GraphQLError) -> bool:
    """Validation, parse, auth and limit errors; a scalar refusing a literal of the document."""
    original = error.original_error
    refused_literal = error.path is None and isinstance(original, ValueError)
    return original is None or isinstance(original, GraphQLError) or refused_literal


def is_expected(error: GraphQLError) -> bool:
    """An answer to the client (not a server error to log): client, role and domain errors."""
    return _meant_for_the_client(error) or isinstance(error.original_error, (DeskError, Forbidden))


def shape_error(error: GraphQLError, request_id: str | None) -> GraphQLError:
    original = error.original_error
    if _meant_for_the_client(error):
        # validation, parse, auth and limit errors: already meant for the client
        if error.extensions is None or "code" not in error.extensions:
            source = original if isinstance(original, GraphQLError) else error
            code = (source.extensions or {}).get("code") or "BAD_REQUEST"
            error.extensions = {**(error.extensions or {}), "code": code}
        return error
    if isinstance(original, Forbidden):
        return GraphQLError(
            str(original), nodes=error.nodes, path=error.path, extensions={"code": "FORBIDDEN"}
        )
    if isinstance(original, DeskError):
        return GraphQLError(
            original.message,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": original.code.value, "field": original.field},
        )
    if original is not None and is_database_outage(original):
        logger.warning(
            "database unreachable during a GraphQL operation: %s",
            type(original).__name__,
            extra={"request_id": request_id, "path": error.path},
        )
        return GraphQLError(
            UNAVAILABLE_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "UNAVAILABLE", "requestId": request_id},
        )
    logger.error(
        "unexpected error in GraphQL operation",
        exc_info=original,
        extra={"request_id": request_id, "path": error.path},
    )
    return GraphQLError(
        INTERNAL_MESSAGE,
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL", "requestId": request_id},
    )


def shape_errors(execution_context: ExecutionContext) -> None:
    """The operation's errors as clients see them (unexpected ones masked and logged)."""
    result = execution_context.result
    if result is None or not result.errors:
        return
    request_id = getattr(execution_context.context, "request_id", None)
    result.errors = [shape_error(e, request_id) for e in result.errors]
