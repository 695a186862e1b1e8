"""Private PostgreSQL and Redis servers for a benchmark run, and the service's processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.support.postgres_server import PostgresServer
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Servers:
    postgres: PostgresServer
    redis: RedisServer

    async def new_database(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(
            self.postgres.url_for("postgres").replace("postgres://", "postgresql://")
        )
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.postgres.url_for(name)


@contextmanager
def private_servers() -> Iterator[Servers]:
    with PostgresServer() as postgres, RedisServer() as redis:
        yield Servers(postgres=postgres, redis=redis)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.returncode} before listening on {port}"
            )
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port} after {timeout} s")


@contextmanager
def running(
    command: list[str], port: int, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """The process, its output in bench/results/server-PORT.log, kept only if something failed."""
    log_path = ROOT / "bench" / "results" / f"server-{port}.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=log
    )
    failed = True
    try:
        wait_for_port(port, process)
        yield process
        failed = process.poll() is not None  # it died under the load
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if not failed:
            log_path.unlink(missing_ok=True)


@contextmanager
def service(database_url: str, redis_url: str | None) -> Iterator[str]:
    """`ticket-stages serve --no-worker` (one uvicorn worker); yields its base URL."""
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "TICKET_STAGES_RATE_LIMIT": "1000000000",
        "TICKET_STAGES_DB_POOL_SIZE": "20",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    command = [sys.executable, "-m", "ticket_stages", "serve", "--no-worker", "--port", str(port)]
    with running(command, port, env):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def raw_baseline(database_url: str, workspace_id: str, counts_json: bytes) -> Iterator[str]:
    """The raw Starlette + asyncpg app the service is compared with."""
    port = free_port()
    payload = ROOT / "bench" / "results" / f"counts-{port}.json"
    payload.write_bytes(counts_json)
    env = {
        "DATABASE_URL": database_url,
        "BENCH_WORKSPACE": workspace_id,
        "BENCH_COUNTS_FILE": str(payload),
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.raw_app:app",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    try:
        with running(command, port, env):
            yield f"http://127.0.0.1:{port}"
    finally:
        payload.unlink(missing_ok=True)
