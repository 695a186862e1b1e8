"""How long each transition's ticket stayed in the stage it left, stored as it is written.

Adds ticket.stage_entered_at (the time of the ticket's latest transition) and
stage_transition.stay_us (microseconds spent in from_stage, NULL for CREATED), and fills both
from the existing log: each transition's stay is the time since the ticket's previous one.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


def _sqlite_ms(moment: str) -> str:
    # SQLite keeps date-times as ISO text and its date functions resolve milliseconds: whole
    # seconds and milliseconds as integers keep the difference exact (julianday's float does not)
    return (
        f"(CAST(strftime('%s', {moment}) AS INTEGER) * 1000"
        f" + CAST(ROUND(strftime('%f', {moment}) * 1000) AS INTEGER) % 1000)"
    )


_STAY_US = {
    "postgres": "(EXTRACT(EPOCH FROM (s.at - p.previous_at)) * 1000000)::bigint",
    "sqlite": f"({_sqlite_ms('s.at')} - {_sqlite_ms('p.previous_at')}) * 1000",
}


def backfill_sql(dialect: str) -> list[str]:
    """The statements that fill the two columns from the existing transition log."""
    return [
        f"UPDATE stage_transition AS s SET stay_us = {_STAY_US[dialect]} "
        "FROM (SELECT id, LAG(at) OVER (PARTITION BY ticket_id ORDER BY id) AS previous_at "
        "FROM stage_transition) AS p "
        "WHERE s.id = p.id AND s.from_stage_id IS NOT NULL AND p.previous_at IS NOT NULL",
        "UPDATE ticket SET stage_entered_at = s.at "
        "FROM (SELECT ticket_id, MAX(id) AS last_id FROM stage_transition GROUP BY ticket_id) AS l "
        "JOIN stage_transition AS s ON s.id = l.last_id "
        "WHERE ticket.id = l.ticket_id",
        # a ticket always has its CREATED transition: this only guards a damaged log
        "UPDATE ticket SET stage_entered_at = updated_at WHERE stage_entered_at IS NULL",
    ]


async def backfill(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    for statement in backfill_sql(client.capabilities.dialect):
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.AddField(
            model_name="StageTransition",
            name="stay_us",
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name="Ticket",
            name="stage_entered_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(backfill, ops.RunPython.noop),
    ]
