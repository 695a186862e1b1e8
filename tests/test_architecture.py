"""The layers import downwards only: api → desk → models, desk → subscriptions; never upwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "models": {
        "api",
        "desk",
        "subscriptions",
        "worker",
        "ticket_stages",
        "redis",
        "strawberry",
        "starlette",
    },
    "subscriptions": {
        "api",
        "desk",
        "models",
        "worker",
        "ticket_stages",
        "tortoise",
        "strawberry",
        "starlette",
    },
    "desk": {"api", "worker", "ticket_stages", "redis", "strawberry", "starlette"},
    "api": {"redis", "worker"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_lower_layers(package: str) -> None:
    offences = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imports(path) & FORBIDDEN[package]
        if bad:
            offences.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offences, "\n".join(offences)


def test_no_sql_in_the_api_layer() -> None:
    offences = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "api").rglob("*.py"))
        if any(
            word in path.read_text() for word in ("SELECT ", "UPDATE ", "INSERT ", "DELETE FROM")
        )
    ]
    assert not offences
