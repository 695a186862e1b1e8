"""The `ticket-stages` command line, run as a subprocess on a temporary SQLite file."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "ticket_stages"]
OUR_VARIABLES = ("DATABASE_URL", "REDIS_URL")


def environment(database: Path | None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in OUR_VARIABLES and not k.startswith("TICKET_STAGES_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    if database is not None:
        env["DATABASE_URL"] = f"sqlite://{database}"
    env.update(extra)
    return env


def run(
    *args: str, database: Path | None = None, cwd: Path = ROOT, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=environment(database, **env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_export_schema_prints_the_committed_schema() -> None:
    result = run("export-schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "schema.graphql").read_text()


def test_migrate_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    database = tmp_path / "service.db"
    for _ in range(2):
        result = run("migrate", database=database, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stderr
    assert database.stat().st_size > 0
    created = run("create-workspace", "After migrate", database=database, cwd=tmp_path)
    assert created.returncode == 0, created.stderr


BAD_ENVIRONMENT = [
    ("TICKET_STAGES_SWEEP_INTERVAL", "abc"),
    ("TICKET_STAGES_SWEEP_INTERVAL", "-1"),
    ("TICKET_STAGES_SWEEP_INTERVAL", "nan"),
    ("DATABASE_URL", "mysql://x"),
    ("REDIS_URL", "http://localhost:6379"),
    ("TICKET_STAGES_RATE_LIMIT", "many"),
    ("TICKET_STAGES_RATE_LIMIT", "0"),
    ("TICKET_STAGES_ALLOWED_ORIGINS", "dashboard.example.com"),
]


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--no-worker"], ["worker"]])
def test_bad_environment_fails_at_start_naming_the_variable(
    tmp_path: Path, command: list[str]
) -> None:
    database = tmp_path / "never.db"
    for name, value in BAD_ENVIRONMENT:
        result = run(*command, database=database, cwd=tmp_path, **{name: value})
        assert result.returncode != 0, (name, value)
        assert name in result.stderr and repr(value) in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert not database.exists()


def test_create_workspace_prints_one_json_line(tmp_path: Path) -> None:
    database = tmp_path / "service.db"
    result = run("create-workspace", "Acme", database=database, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    created = json.loads(lines[0])
    assert set(created) == {"workspaceId", "apiKey"}
    assert created["apiKey"].startswith("tsk_")
    other = json.loads(run("create-workspace", "Beta", database=database, cwd=tmp_path).stdout)
    assert other["workspaceId"] != created["workspaceId"] and other["apiKey"] != created["apiKey"]


def test_create_workspace_refuses_a_bad_name(tmp_path: Path) -> None:
    for name in ("", "   ", "x" * 101):
        result = run("create-workspace", name, database=tmp_path / "service.db", cwd=tmp_path)
        assert result.returncode != 0 and result.stdout == ""
        assert "name" in result.stderr and "Traceback" not in result.stderr
    bad_role = run("create-workspace", "Acme", "--role", "OWNER", database=tmp_path / "x.db")
    assert bad_role.returncode != 0 and "OWNER" in bad_role.stderr


class Server:
    """A `ticket-stages serve` process whose output is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [*CLI, *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for_line(self, marker: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            if marker in line:
                return line
        raise AssertionError(f"no line with {marker!r}; output:\n{''.join(self.output)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._pump_thread.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[Server, int, Path]]:
    port = free_port()
    database = tmp_path / "demo.db"
    env = environment(database, TICKET_STAGES_SWEEP_INTERVAL="0.2")
    server = Server(["serve", "--demo", "--port", str(port)], env, tmp_path)  # with its worker
    try:
        yield server, port, database
    finally:
        server.stop()


def wait_until_healthy(base: str, server: Server, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.process.poll() is None, "".join(server.output)
        time.sleep(0.05)
    raise AssertionError("the server did not become healthy")


def graphql(base: str, key: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query},
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_serve_demo_and_a_workspace_created_beside_it(
    demo_server: tuple[Server, int, Path], tmp_path: Path
) -> None:
    server, port, database = demo_server
    url_line = server.wait_for_line("/graphql")
    assert f"http://localhost:{port}/graphql" in url_line
    key = server.wait_for_line("ADMIN API key:").split("ADMIN API key:", 1)[1].strip()
    assert key.startswith("tsk_")
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(base, server)

    demo = graphql(
        base,
        key,
        "{ viewer { role workspaceName } stages { name kind ticketCount } stageCounts { total } "
        "tickets(first: 100) { totalCount edges { node { stage { kind } } } } }",
    )
    assert "errors" not in demo, demo
    data = demo["data"]
    assert isinstance(data, dict)
    assert data["viewer"] == {"role": "ADMIN", "workspaceName": "Demo store"}
    intermediate = [s for s in data["stages"] if s["kind"] == "INTERMEDIATE"]
    assert intermediate and sum(s["ticketCount"] for s in intermediate) > 0
    assert data["tickets"]["totalCount"] > 0
    assert data["stageCounts"]["total"] == data["tickets"]["totalCount"]
    kinds = {e["node"]["stage"]["kind"] for e in data["tickets"]["edges"]}
    assert {"OPEN", "INTERMEDIATE", "CLOSED"} <= kinds

    created = run("create-workspace", "Second store", database=database, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    second = json.loads(created.stdout)
    answer = graphql(base, second["apiKey"], "{ viewer { workspaceId workspaceName role } }")
    assert answer == {
        "data": {
            "viewer": {
                "workspaceId": second["workspaceId"],
                "workspaceName": "Second store",
                "role": "ADMIN",
            }
        }
    }
    assert graphql(base, second["apiKey"], "{ tickets { totalCount } }") == {
        "data": {"tickets": {"totalCount": 0}}
    }

    viewer = json.loads(
        run(
            "create-workspace", "Watchers", "--role", "VIEWER", database=database, cwd=tmp_path
        ).stdout
    )
    refused = graphql(
        base,
        viewer["apiKey"],
        'mutation { createTicket(input: {customerId: "c", channel: SMS}) { ticket { id } } }',
    )
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
