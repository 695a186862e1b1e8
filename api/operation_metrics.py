"""Counts and times every GraphQL operation, labelled by name and type."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

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


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context.context
        services = getattr(context, "services", None)
        if services is None:
            return
        try:
            kind = self.execution_context.operation_type.value
        except RuntimeError:
            kind = "invalid"
        name = operation_label(self.execution_context.operation_name)
        result = self.execution_context.result
        outcome = "error" if result is None or result.errors else "ok"
        metrics = services.metrics
        if kind != "subscription":
            metrics.graphql_latency.labels(name, kind).observe(time.perf_counter() - started)
        metrics.graphql_operations.labels(name, kind, outcome).inc()
