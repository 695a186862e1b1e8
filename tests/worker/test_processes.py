"""End to end: the real `ticket-stages` processes auto-close and wake tickets on their own.

These tests sleep (a two-second period, a 0.2 s sweep interval): they are the few that run the
service as it is deployed, with nothing injected.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticket_stages", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@contextmanager
def process(log: Path, *args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A `ticket-stages` process, stopped with SIGTERM (as a supervisor would) at the end."""
    with log.open("wb") as output:
        running = subprocess.Popen(
            [sys.executable, "-m", "ticket_stages", *args],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield running
        finally:
            if running.poll() is None:
                running.send_signal(signal.SIGTERM)
                try:
                    running.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    running.kill()
                    running.wait()


def wait_until_serving(client: httpx.Client, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text()}")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server never answered:\n{log.read_text()}")


def graphql(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    data = body["data"]
    payload = next(iter(data.values()))
    if isinstance(payload, dict) and "userErrors" in payload:
        assert payload["userErrors"] == [], payload
    return data


TICKET_STATE = "stage { kind } history { source actor }"


@pytest.mark.parametrize("topology", ["serve", "serve --no-worker + worker"])
def test_the_running_service_auto_closes_and_wakes_tickets(topology: str, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DATABASE_URL": f"sqlite://{tmp_path / 'service.db'}",
        "TICKET_STAGES_SWEEP_INTERVAL": "0.2",
        "TICKET_STAGES_REPORTS_DIR": str(tmp_path / "reports"),
    }
    created = json.loads(cli("create-workspace", "End to end store", env=env).stdout)
    port = free_port()
    serve_log, worker_log = tmp_path / "serve.log", tmp_path / "worker.log"
    serve_args = ["serve", "--port", str(port)]
    if topology != "serve":
        serve_args.append("--no-worker")
    with ExitStack() as stack:
        server = stack.enter_context(process(serve_log, *serve_args, env=env))
        worker = None
        if topology != "serve":
            worker = stack.enter_context(process(worker_log, "worker", env=env))
        client = stack.enter_context(
            httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"authorization": f"Bearer {created['apiKey']}"},
                timeout=10,
            )
        )
        wait_until_serving(client, server, serve_log)

        graphql(
            client,
            'mutation { updateSettings(input: {autoClosePeriod: "PT2S"}) '
            "{ settings { autoClosePeriod } userErrors { code } } }",
        )
        new_ticket = (
            "mutation($c: String!) { createTicket(input: {customerId: $c, channel: EMAIL}) "
            "{ ticket { id } userErrors { code } } }"
        )
        quiet = graphql(client, new_ticket, {"c": "quiet-customer"})["createTicket"]["ticket"]["id"]
        snoozed = graphql(client, new_ticket, {"c": "snoozed-customer"})["createTicket"]["ticket"][
            "id"
        ]
        until = (datetime.now(UTC) + timedelta(seconds=2.5)).isoformat()
        graphql(
            client,
            "mutation($t: ID!, $u: DateTime!) { snoozeTicket(input: {ticketId: $t, until: $u}) "
            "{ ticket { stage { kind } } userErrors { code } } }",
            {"t": snoozed, "u": until},
        )

        state: dict[str, Any] = {}
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            state = graphql(
                client,
                f"query($q: ID!, $s: ID!) {{ quiet: ticket(id: $q) {{ {TICKET_STATE} }} "
                f"snoozed: ticket(id: $s) {{ {TICKET_STATE} }} }}",
                {"q": quiet, "s": snoozed},
            )
            if (
                state["quiet"]["stage"]["kind"] == "AUTO_CLOSED"
                and state["snoozed"]["stage"]["kind"] == "OPEN"
            ):
                break
            time.sleep(0.2)
        else:
            logs = serve_log.read_text() + (worker_log.read_text() if worker else "")
            raise AssertionError(f"not done after {DEADLINE_SECONDS}s: {state}\n{logs}")

        assert state["quiet"]["history"] == [
            {"source": "CREATED", "actor": "admin key"},
            {"source": "AUTO_CLOSE", "actor": "system"},
        ]
        assert [h["source"] for h in state["snoozed"]["history"]] == [
            "CREATED",
            "SNOOZE",
            "SNOOZE_WAKE",
        ]
        assert state["snoozed"]["history"][-1]["actor"] == "system"

        metrics = client.get("/metrics").text
        closed_here = 'ticket_stages_sweep_tickets_total{action="auto_close"} 1.0' in metrics
        assert closed_here is (worker is None)  # with --no-worker, the server swept nothing

        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=20) == 0
            assert "worker stopped" in worker_log.read_text()
