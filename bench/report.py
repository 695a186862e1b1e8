"""Report generation against PostgreSQL's own COPY of the same rows, measured in the same run.

    .venv/bin/python -m bench.report [--quick]

A private PostgreSQL server gets one workspace made by the service and N tickets (1,000,000; 50,000
with --quick) with 1-5 transitions each and about four chats per customer, inserted set-based on
the server. Then, alternately, twice each:
- baseline: `COPY (SELECT <the report's tickets' columns> ... ORDER BY created_at, id) TO STDOUT
  CSV` into a file, through asyncpg;
- ours: a fresh child process requests a report over the whole range, claims it and generates it
  to its CSV file (the time of claim + generation; interpreter start and imports not counted).
  The child's peak resident memory (VmHWM) is the memory figure: it includes the interpreter
  and the imported service, so it bounds the generation's own use from above.
The best time of each side is compared. Goal: ours <= 4x the baseline, peak memory <= 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from bench.seed import pg_dsn
from tests.support.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 4.0
GOAL_MEMORY_MB = 200.0
START_DATE = date(2026, 1, 1)
END_DATE = date(2026, 12, 31)
ROUNDS = 2

_TICKETS_SQL = """
WITH st AS (
    SELECT array_agg(id ORDER BY position) AS ids, array_agg(kind ORDER BY position) AS kinds
    FROM stage WHERE workspace_id = $1
)
INSERT INTO ticket (id, workspace_id, customer_id, channel, subject, stage_id, stage_kind, version,
    created_at, updated_at, last_customer_message_at, period_started_at, auto_close_anchor_us,
    auto_close_due_us, snoozed_until, snoozed_until_reply, wake_on_customer_reply, closed_at)
SELECT gen_random_uuid(), $1, 'customer-' || ((n * 7919) % greatest($3 / 4, 1)),
    (ARRAY['WHATSAPP','INSTAGRAM','MESSENGER','EMAIL','WEB_CHAT','SMS'])[n % 6 + 1],
    'Order #' || n, st.ids[n % $2 + 1], st.kinds[n % $2 + 1], n % 5 + 1,
    at, at, CASE WHEN n % 2 = 0 THEN at + interval '7 minutes' END, at, NULL, NULL, NULL, false,
    true, CASE WHEN st.kinds[n % $2 + 1] = 'CLOSED' THEN at + interval '3 hours' END
FROM st, generate_series(1::bigint, $3::bigint) AS n,
    LATERAL (SELECT timestamptz '2026-01-01 00:00:00+00' + n * ($4 * interval '1 second') AS at) t
"""

# `version` counts a ticket's transitions (CREATED included): the seed keeps that true
_TRANSITIONS_SQL = """
INSERT INTO stage_transition (workspace_id, ticket_id, channel, from_stage_id, to_stage_id, source,
    actor, at)
SELECT t.workspace_id, t.id, t.channel, CASE WHEN k > 1 THEN t.stage_id END, t.stage_id,
    CASE WHEN k = 1 THEN 'CREATED' ELSE 'MANUAL' END, 'bench',
    t.created_at + k * interval '1 minute'
FROM ticket t CROSS JOIN LATERAL generate_series(1, t.version) AS k
WHERE t.workspace_id = $1
"""

BASELINE_SQL = (
    "SELECT t.id, t.customer_id, t.channel, t.stage_id, t.created_at, t.closed_at, "
    "t.last_customer_message_at FROM ticket t WHERE t.workspace_id = $1 AND t.created_at >= $2 "
    "AND t.created_at < $3 ORDER BY t.created_at, t.id"
)


async def _seed(database_url: str, count: int) -> str:
    """A workspace made by the service, with `count` tickets and their transitions."""
    from bench.seed import create

    workspace = await create(database_url)
    conn = await asyncpg.connect(pg_dsn(database_url))
    try:
        workspace_id = uuid.UUID(workspace.id)
        stages = len(workspace.stages)
        # spread over 300 days whatever the count, inside the report's range
        seconds_apart = 300 * 86_400 / count
        await conn.execute(_TICKETS_SQL, workspace_id, stages, count, seconds_apart)
        await conn.execute(_TRANSITIONS_SQL, workspace_id)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return workspace.id


async def _baseline(database_url: str, workspace_id: str, output: Path) -> float:
    from datetime import UTC, datetime, timedelta
    from datetime import time as day_time

    start = datetime.combine(START_DATE, day_time(0), tzinfo=UTC)
    end = datetime.combine(END_DATE + timedelta(days=1), day_time(0), tzinfo=UTC)
    conn = await asyncpg.connect(pg_dsn(database_url))
    try:
        began = time.perf_counter()
        await conn.copy_from_query(
            BASELINE_SQL, uuid.UUID(workspace_id), start, end, output=str(output), format="csv"
        )
        return time.perf_counter() - began
    finally:
        await conn.close()


def _ours(database_url: str, workspace_id: str, reports_dir: Path) -> dict[str, Any]:
    """One generation in a fresh child process: its time, rows and peak memory."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.report",
            "--child",
            database_url,
            workspace_id,
            str(reports_dir),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the address space, so it starts
    afresh at exec; ru_maxrss would carry over the parent's peak from before the fork."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _child(database_url: str, workspace_id: str, reports_dir: Path) -> dict[str, Any]:
    from desk.access import system_actor
    from desk.report_generation import claim_report, generate
    from desk.reports import request_report
    from desk.service import Desk
    from models import Report
    from models.database import open_database

    async with open_database(database_url, pool_size=2):
        desk = Desk()
        actor = system_actor(uuid.UUID(workspace_id))
        report = await request_report(desk, actor, "Bench", START_DATE, END_DATE)
        rss_before = _peak_rss_mb()
        began = time.perf_counter()
        claim = await claim_report(desk)
        assert claim is not None and claim.report.id == report.id
        await generate(desk, claim, reports_dir)
        seconds = time.perf_counter() - began
        done = await Report.get(id=report.id)
        assert done.status.value == "READY", done.error
        return {
            "seconds": seconds,
            "rows": done.row_count,
            "peak_memory_mb": _peak_rss_mb(),
            "memory_before_mb": rss_before,
            "bytes": (reports_dir / str(done.file_name)).stat().st_size,
        }


async def run(quick: bool) -> dict[str, Any]:
    count = 50_000 if quick else 1_000_000
    with PostgresServer() as server, tempfile.TemporaryDirectory() as scratch:
        database = f"bench_report_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(pg_dsn(server.url_for("postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{database}"')
        finally:
            await admin.close()
        database_url = server.url_for(database)
        began = time.perf_counter()
        workspace_id = await _seed(database_url, count)
        seed_seconds = time.perf_counter() - began
        baseline_times, ours_runs = [], []
        for round_ in range(ROUNDS):
            baseline_times.append(
                await _baseline(database_url, workspace_id, Path(scratch) / f"copy{round_}.csv")
            )
            ours_runs.append(
                await asyncio.to_thread(
                    _ours, database_url, workspace_id, Path(scratch) / "reports"
                )
            )
        copy_bytes = (Path(scratch) / "copy0.csv").stat().st_size
    ours = min(r["seconds"] for r in ours_runs)
    baseline = min(baseline_times)
    peak = max(r["peak_memory_mb"] for r in ours_runs)
    ratio = ours / baseline
    assert all(r["rows"] == count for r in ours_runs), ours_runs
    return {
        "scenario": f"customer ticket report, {count:,} tickets (PostgreSQL)",
        "ours": round(ours, 3),
        "baseline": round(baseline, 3),
        "unit": "seconds",
        "ratio": round(ratio, 2),
        "goal": f"<= {GOAL_RATIO:g}x COPY, peak memory <= {GOAL_MEMORY_MB:g} MB",
        "passed": ratio <= GOAL_RATIO and peak <= GOAL_MEMORY_MB,
        "peak_memory_mb": round(peak, 1),
        "memory_before_generation_mb": round(max(r["memory_before_mb"] for r in ours_runs), 1),
        "rows": count,
        "report_bytes": ours_runs[0]["bytes"],
        "copy_bytes": copy_bytes,
        "all_runs": {
            "ours": [round(r["seconds"], 3) for r in ours_runs],
            "baseline": [round(t, 3) for t in baseline_times],
        },
        "seed_seconds": round(seed_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="50,000 tickets instead of 1,000,000")
    parser.add_argument(
        "--child", nargs=3, metavar=("DATABASE_URL", "WORKSPACE", "DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        url, workspace_id, directory = args.child
        print(json.dumps(asyncio.run(_child(url, workspace_id, Path(directory)))))
        return
    print(json.dumps(asyncio.run(run(args.quick)), indent=2))


if __name__ == "__main__":
    main()
