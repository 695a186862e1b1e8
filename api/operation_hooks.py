"""What the service does around every GraphQL operation, as one schema extension.

Strawberry prepares each extension's hooks for every request, so the document limits, the
metrics and the shaping of errors share one extension rather than one each.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from api.errors import shape_errors
from api.limits import LIMIT_RULES, MAX_TOKENS
from api.operation_metrics import record_operation


class OperationHooks(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        execution_context = self.execution_context
        execution_context.parse_options["max_tokens"] = MAX_TOKENS
        execution_context.validation_rules = execution_context.validation_rules + LIMIT_RULES
        started = time.perf_counter()
        yield
        record_operation(execution_context, time.perf_counter() - started)
        shape_errors(execution_context)
