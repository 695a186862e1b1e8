"""Counts and times every GraphQL operation, labelled by name and type."""

from __future__ import annotations

import re

from strawberry.types import ExecutionContext

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_DISTINCT_NAMES = 200
_seen_names: set[str] = set()


def operation_label(name: str | None) -> str:
    """Client-chosen names are bounded so a client cannot blow up the metric's cardinality."""
    if not name or not _NAME.match(name):
        return "anonymous"
    if name not in _seen_names:
        if len(_seen_names) >= MAX_DISTINCT_NAMES:
            return "other"
        _seen_names.add(name)
    return name


def record_operation(execution_context: ExecutionContext, seconds: float) -> None:
    """Count the operation by name, type and outcome, and time it (subscriptions: counted)."""
    services = getattr(execution_context.context, "services", None)
    if services is None:
        return
    try:
        kind = execution_context.operation_type.value
    except RuntimeError:
        kind = "invalid"
    name = operation_label(execution_context.operation_name)
    result = execution_context.result
    outcome = "error" if result is None or result.errors else "ok"
    metrics = services.metrics
    if kind != "subscription":
        metrics.graphql_latency.labels(name, kind).observe(seconds)
    metrics.graphql_operations.labels(name, kind, outcome).inc()
