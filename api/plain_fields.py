"""Plain fields completed without graphql-core's per-field machinery.

Most fields of a page of tickets are attributes read as they are (strawberry's "basic"
fields: no resolver, no arguments) of a scalar or enum type. For each, graphql-core builds a
path, a resolve info and a completion; a page of fifty tickets has hundreds. Here such a
field is read and serialized directly. Anything unusual (a null where none is allowed, a
value the scalar refuses, an attribute that fails) goes the general way, which reports it
exactly as before; every other field is untouched. An attribute holding an object, or a
list of objects, has its sub-selection completed the same way, without a resolve info. A
resolver marked with `value_when_known` is skipped when its source holds the value already.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
)
from graphql.pyutils import Path, gather_with_cancel, is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from api.plain_compiler import FAILED, Compiled, Entry, compile_selection

_FAILED = object()


@dataclass(frozen=True, slots=True)
class _Plain:
    """A field that is an attribute: of a leaf type (serialize) or of an object type (object)."""

    read: Callable[[Any], Any]
    nullable: bool
    serialize: Callable[[Any], Any] | None = None
    object_type: GraphQLObjectType | None = None
    item_nullable: bool | None = None  # set when the attribute is a list of objects
    # values of exactly this type are their own serialization (str for String and ID)
    as_is: type | None = None

    def leaf(self, source: Any) -> Any:
        """The serialized value, or _FAILED when only the general path may say what is wrong."""
        assert self.serialize is not None
        try:
            value = self.read(source)
            if value is None:
                return None if self.nullable else _FAILED
            if type(value) is self.as_is:
                return value
            serialized = self.serialize(value)
        except Exception:
            return _FAILED
        return _FAILED if serialized is None or serialized is Undefined else serialized


_PLAIN_FIELDS = "_plain_fields"  # where a type keeps what plain_fields found


def plain_fields(parent_type: GraphQLObjectType) -> dict[str, _Plain]:
    """The fields of a type that are plain attributes (computed once per type)."""
    found: dict[str, _Plain] | None = parent_type.__dict__.get(_PLAIN_FIELDS)
    if found is None:
        found = {}
        for name, field in parent_type.fields.items():
            plain = _plain(field)
            if plain is not None:
                found[name] = plain
        setattr(parent_type, _PLAIN_FIELDS, found)
    return found


_KNOWN = "_plain_value_when_known"
F = TypeVar("F", bound=Callable[..., Any])


def value_when_known(known: Callable[[Any], Any]) -> Callable[[F], F]:
    """Marks the resolver of a non-null field whose value the source may hold already.

    When `known(source)` is not None it is the field's value, completed like a plain
    attribute; otherwise the resolver is called as usual.
    """

    def mark(resolver: F) -> F:
        setattr(resolver, _KNOWN, known)
        return resolver

    return mark


def _plain(field: GraphQLField) -> _Plain | None:
    definition = (field.extensions or {}).get("strawberry-definition")
    if not isinstance(definition, StrawberryField) or definition.extensions or field.args:
        return None
    output = field.type
    nullable = not isinstance(output, GraphQLNonNull)
    inner = output if nullable else output.of_type
    read: Callable[[Any], Any]
    if definition.base_resolver is not None:
        known = getattr(definition.base_resolver.wrapped_func, _KNOWN, None)
        if known is None or nullable:  # a null could not tell "unknown" from "null"
            return None
        read = known
    elif getattr(field.resolve, "_is_default", False):
        resolver, name = definition.default_resolver, definition.python_name
        if resolver is getattr:
            read = operator.attrgetter(name)
        else:

            def read(source: Any) -> Any:
                return resolver(source, name)

    else:
        return None

    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        as_is = str if inner in (GraphQLString, GraphQLID) else None
        return _Plain(read, nullable, serialize=inner.serialize, as_is=as_is)
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return _Plain(read, nullable, object_type=inner)
    if isinstance(inner, GraphQLList):
        item = inner.of_type
        item_nullable = not isinstance(item, GraphQLNonNull)
        item = item if item_nullable else item.of_type
        if isinstance(item, GraphQLObjectType) and item.is_type_of is None:
            return _Plain(read, nullable, object_type=item, item_nullable=item_nullable)
    return None


FieldPlan = list[tuple[str, Any, _Plain | None]]  # response name, field details, if plain


@dataclass(frozen=True, slots=True)
class _SelectionPlan:
    fields: FieldPlan | None  # None: no plain field at all
    compiled: Compiled | None  # when every field is plain (see plain_compiler)


class PlainFieldsExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # per selection set (graphql-core reuses one per field of a list): the set and its plan
        self._field_plans: dict[int, tuple[dict[str, Any], _SelectionPlan]] = {}

    def _plan(self, parent_type: GraphQLObjectType, grouped: dict[str, Any]) -> _SelectionPlan:
        found = self._field_plans.get(id(grouped))
        if found is not None:
            return found[1]
        middleware = getattr(self.middleware_manager, "middlewares", None)
        plain = {} if middleware else plain_fields(parent_type)
        fields: FieldPlan | None = None
        if plain:
            fields = []
            for response_name, details in grouped.items():
                node = details[0].node
                spec = None if node.arguments else plain.get(node.name.value)
                fields.append((response_name, details, spec))
        plan = _SelectionPlan(fields, None if fields is None else self._compile(fields))
        self._field_plans[id(grouped)] = (grouped, plan)
        return plan

    def _compile(self, fields: FieldPlan) -> Compiled | None:
        entries: list[Entry] = []
        for response_name, details, spec in fields:
            if spec is None or spec.item_nullable is not None:
                return None
            nested = None
            if spec.object_type is not None:
                grouped, new_defer_usages, _ = self.collect_subfields(spec.object_type, details)
                nested = (
                    None if new_defer_usages else self._plan(spec.object_type, grouped).compiled
                )
                if nested is None:
                    return None
            entries.append((response_name, spec, nested))
        return compile_selection(entries)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: dict[str, Any],
        position_context: Any,
    ) -> Any:
        selection = self._plan(parent_type, grouped_field_set)
        if selection.compiled is not None:
            done = selection.compiled(source_value)
            if done is not FAILED:
                return done
        plan = selection.fields
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        # graphql-core's loop, with plain fields completed on the spot
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response_name, details, spec in plan:
                result = _FAILED
                if spec is not None:
                    if spec.serialize is not None:
                        result = spec.leaf(source_value)
                        if result is not _FAILED:  # a leaf's value is never awaitable
                            results[response_name] = result
                            continue
                    else:
                        result = self._plain_object(
                            spec, parent_type, source_value, path, response_name, details,
                            position_context,
                        )  # fmt: skip
                if result is _FAILED:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        details,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _settled(results, awaitable_fields)

    def _plain_object(
        self,
        spec: _Plain,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        response_name: str,
        details: Any,
        position_context: Any,
    ) -> Any:
        """The sub-selection of an attribute holding an object, or _FAILED if unusual."""
        assert spec.object_type is not None
        try:
            value = spec.read(source)
        except Exception:
            return _FAILED
        if value is None:
            return None if spec.nullable else _FAILED
        if self.is_awaitable(value):
            return _FAILED
        if spec.item_nullable is not None and not _plain_list(value, spec.item_nullable):
            return _FAILED
        grouped, new_defer_usages, _ = self.collect_subfields(spec.object_type, details)
        if new_defer_usages:
            return _FAILED
        field_path = Path(path, response_name, parent_type.name)
        return_type = parent_type.fields[details[0].node.name.value].type
        if spec.item_nullable is None:
            return self._completed(
                lambda: self.execute_fields(
                    spec.object_type, value, field_path, grouped, position_context
                ),
                return_type,
                details,
                field_path,
            )
        item_type = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        item_type = item_type.of_type
        items: list[Any] = []
        pending = False
        try:
            for index, item in enumerate(value):
                item_path = Path(field_path, index, None)
                completed = None
                if item is not None:
                    completed = self._completed(
                        lambda item=item, item_path=item_path: self.execute_fields(
                            spec.object_type, item, item_path, grouped, position_context
                        ),
                        item_type,
                        details,
                        item_path,
                    )
                    pending = pending or self.is_awaitable(completed)
                items.append(completed)
        except Exception as error:  # a required item failed: the list fails
            self.settle_in_background([item for item in items if self.is_awaitable(item)])
            self.handle_field_error(error, return_type, details, field_path)
            return None
        if not pending:
            return items
        return self._handled_later(
            _gathered(items, self.is_awaitable), return_type, details, field_path
        )

    def _completed(
        self, execute: Callable[[], Any], return_type: Any, details: Any, field_path: Path
    ) -> Any:
        """What execute returns, with errors handled as graphql-core's execute_field does."""
        try:
            completed = execute()
        except Exception as error:
            self.handle_field_error(error, return_type, details, field_path)
            return None
        if self.is_awaitable(completed):
            return self._handled_later(completed, return_type, details, field_path)
        return completed

    async def _handled_later(
        self, completed: Any, return_type: Any, details: Any, field_path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as error:
            self.handle_field_error(error, return_type, details, field_path)
            return None


def _plain_list(value: Any, item_nullable: bool) -> bool:
    """A list whose items can be completed here: no awaitables, no null where none may be."""
    if not isinstance(value, list | tuple):
        return False
    return all(item is not None or item_nullable for item in value) and not any(
        is_awaitable(item) for item in value
    )


async def _gathered(items: list[Any], is_awaitable: Callable[[Any], bool]) -> list[Any]:
    pending = [index for index, item in enumerate(items) if is_awaitable(item)]
    values = await gather_with_cancel(*(items[index] for index in pending))
    for index, item in zip(pending, values, strict=True):
        items[index] = item
    return items


async def _settled(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    if len(awaitable_fields) == 1:
        name = awaitable_fields[0]
        results[name] = await results[name]
        return results
    values = await gather_with_cancel(*(results[name] for name in awaitable_fields))
    results.update(zip(awaitable_fields, values, strict=True))
    return results
