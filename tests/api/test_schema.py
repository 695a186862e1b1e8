"""schema.graphql is generated from the code and must not go stale."""

from __future__ import annotations

from pathlib import Path

from api.schema import export_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"
REGENERATE = (
    '.venv/bin/python -c "from api.schema import export_sdl; '
    "open('schema.graphql','w').write(export_sdl())\""
)


def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text() == export_sdl(), f"schema.graphql is stale: run {REGENERATE}"
