"""TICKET_STAGES_LOG_JSON=true: every line the served process logs is one JSON object."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_the_served_process_logs_json_lines(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite://{tmp_path / 'logs.db'}",
        "TICKET_STAGES_REPORTS_DIR": str(tmp_path / "reports"),
        "TICKET_STAGES_LOG_JSON": "true",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ticket_stages", "serve", "--port", str(port), "--no-worker"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)

    lines = [line for line in stderr.splitlines() if line.strip()]
    entries = []
    for line in lines:
        entry = json.loads(line)  # every line, the server's own included, is JSON
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
        assert "\x1b" not in line, line
        entries.append(entry)
    messages = [e["message"] for e in entries]
    assert "Application startup complete." in messages
    assert "Application shutdown complete." in messages
