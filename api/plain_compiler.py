"""One Python function per selection set made only of plain fields, generated once per shape.

For a selection set whose fields are all plain attributes (leaves, or single objects whose own
selection is compiled too), the generic loop of PlainFieldsExecutor still costs a few calls
per field. Here the whole set becomes one straight-line function: read, check for null,
serialize, build the dict. It returns FAILED at the first thing out of the ordinary, before
any side effect, and the executor then completes the object the general way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from graphql import Undefined
from graphql.pyutils import is_awaitable


class PlainSpec(Protocol):
    read: Callable[[Any], Any]
    nullable: bool
    serialize: Callable[[Any], Any] | None
    as_is: type | None


class Failed:
    """What a compiled selection returns when the general path must take over."""


FAILED = Failed()
Compiled = Callable[[Any], Any]
Entry = tuple[str, PlainSpec, Compiled | None]  # response name, the field, its sub-selection

MAX_SHAPES = 512
_compiled: dict[tuple[object, ...], Compiled] = {}


def compile_selection(entries: list[Entry]) -> Compiled:
    """The function completing one object for these entries (cached by their shape)."""
    shape = tuple((name, id(spec), id(nested)) for name, spec, nested in entries)
    found = _compiled.get(shape)
    if found is None:
        if len(_compiled) >= MAX_SHAPES:
            _compiled.clear()
        found = _compiled[shape] = _generate(entries)
    return found


def _generate(entries: list[Entry]) -> Compiled:
    namespace: dict[str, Any] = {
        "FAILED": FAILED,
        "Undefined": Undefined,
        "isawaitable": is_awaitable,
    }
    lines = ["def complete(src):", "    try:"]
    for index, (_, spec, nested) in enumerate(entries):
        namespace[f"read{index}"] = spec.read
        lines.append(f"        v = read{index}(src)")
        lines.append("        if v is None:")
        lines.append(
            f"            x{index} = None" if spec.nullable else "            return FAILED"
        )
        if nested is not None:
            namespace[f"nested{index}"] = nested
            lines += [
                "        elif isawaitable(v):",
                "            return FAILED",
                "        else:",
                f"            x{index} = nested{index}(v)",
                f"            if x{index} is FAILED:",
                "                return FAILED",
            ]
            continue
        namespace[f"serialize{index}"] = spec.serialize
        if spec.as_is is not None:
            namespace[f"as_is{index}"] = spec.as_is
            lines += [f"        elif type(v) is as_is{index}:", f"            x{index} = v"]
        lines += [
            "        else:",
            f"            x{index} = serialize{index}(v)",
            f"            if x{index} is None or x{index} is Undefined:",
            "                return FAILED",
        ]
    lines += ["    except Exception:", "        return FAILED"]
    fields = ", ".join(f"{name!r}: x{index}" for index, (name, _, _) in enumerate(entries))
    lines.append(f"    return {{{fields}}}")
    exec("\n".join(lines), namespace)  # the source is built above from the schema's names
    compiled: Compiled = namespace["complete"]
    return compiled
