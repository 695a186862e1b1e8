"""Run every benchmark scenario, print the table and write it as JSON.

.venv/bin/python -m bench            # full sizes (tens of minutes)
.venv/bin/python -m bench --quick    # small sizes, one round (what CI runs)
.venv/bin/python -m bench --only api,sweep
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.environment import private_servers

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = {
    "api": "bench.api",
    "sweep": "bench.sweep",
    "fanout": "bench.fanout",
    "analytics": "bench.analytics",
    "report": "bench.report",
}


async def _run_api(quick: bool) -> list[dict[str, Any]]:
    from bench import api

    with private_servers() as servers:
        rows = await api.throughput(servers, quick)
        rows.extend(await api.counts_scaling(servers, quick))
    return rows


async def run(names: list[str], quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in names:
        started = time.monotonic()
        try:
            if name == "api":
                produced = await _run_api(quick)
            else:
                module = importlib.import_module(SCENARIOS[name])
                result = await module.run(quick)
                produced = result if isinstance(result, list) else [result]
        except Exception as error:  # one broken scenario must not hide the others' results
            produced = [
                {"scenario": name, "passed": False, "error": f"{type(error).__name__}: {error}"}
            ]
        for row in produced:
            row.setdefault("seconds", round(time.monotonic() - started, 1))
        rows.extend(produced)
        print_table(produced)
    return rows


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    return str(value)


def print_table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if "error" in row:
            print(f"| {row['scenario']} | error: {row['error']} | | | | FAIL |", flush=True)
            continue
        unit = row.get("unit", "")
        print(
            f"| {row['scenario']} | {_cell(row.get('ours'))} {unit} "
            f"| {_cell(row.get('baseline'))} {unit} | {_cell(row.get('ratio'))} "
            f"| {row.get('goal', '')} | {'pass' if row.get('passed') else 'FAIL'} |",
            flush=True,
        )


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and one round (CI smoke run)"
    )
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help="comma-separated: " + ",".join(SCENARIOS)
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON file (default bench/results/)"
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    RESULTS.mkdir(exist_ok=True)
    print("| scenario | ours | baseline | ratio | goal | result |")
    print("|---|---|---|---|---|---|")
    rows = asyncio.run(run(names, args.quick))
    output = args.output or RESULTS / ("quick.json" if args.quick else "latest.json")
    output.write_text(
        json.dumps(
            {
                "at": datetime.now(UTC).isoformat(),
                "quick": args.quick,
                "machine": machine(),
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"\nwritten to {output}")
    # goals missed are results to report; only a scenario that could not run is a failure
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
