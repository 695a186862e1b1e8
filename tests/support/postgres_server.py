"""A private, throw-away PostgreSQL server for tests that break the database on purpose.

    with private_postgres_server() as server:   # initdb, postgres on a free port, in a temp dir
        server.url                              # postgres://postgres@127.0.0.1:PORT/postgres
        server.stop()                           # fast shutdown: open transactions roll back,
                                                # every client is disconnected
        server.start()                          # the same cluster on the same port
        server.restart()                        # stop (fast), then start
        server.kill()                           # SIGKILL to every server process, as a crash

The postmaster is started directly as a child of the test process (what ``pg_ctl start`` does,
minus the daemonising), so it can be signalled and reaped without leaving orphans: ``stop`` is
``pg_ctl stop -m fast`` (SIGINT). PostgreSQL refuses to run as root, so when the tests run as
root the directory belongs to the ``postgres`` OS user and the binaries run as that user.
Everything is synchronous (initdb ~1 s, start and stop ~0.1-0.3 s); call it through
``asyncio.to_thread`` from async code. The server and its directory are always removed.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.redis_server import free_port

OS_USER = "postgres"


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian layout), or the one on PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    if candidates:
        return Path(candidates[-1])
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("no PostgreSQL binaries found (initdb, postgres, pg_isready)")
    return Path(initdb).parent


class PostgresServer:
    def __init__(self, *, bin_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir or postgres_bin_dir()
        self.port = 0
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._as_user = OS_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgres://{OS_USER}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    @property
    def data_dir(self) -> Path:
        if self._dir is None:
            raise RuntimeError("the cluster does not exist yet: call start()")
        return self._dir / "data"

    def start(self, timeout: float = 15.0) -> None:
        if self.running:
            raise RuntimeError("the PostgreSQL server is already running")
        if self._dir is None:
            self._init_cluster()
        first_start = self.port == 0
        for attempt in range(5):
            if first_start:
                self.port = free_port()
            try:
                self._spawn(timeout)
                return
            except RuntimeError:
                if not first_start or attempt == 4:  # the free port keeps being taken meanwhile
                    raise

    def stop(self, *, signal_number: int = signal.SIGINT, timeout: float = 30.0) -> None:
        """Shut down; SIGINT is the "fast" mode of ``pg_ctl stop``, SIGQUIT "immediate"."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal_number)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._process = None

    def restart(self, timeout: float = 15.0) -> None:
        """Fast shutdown, then start again on the same port (``pg_ctl restart -m fast``)."""
        self.stop()
        self.start(timeout)

    def kill(self) -> None:
        """SIGKILL to the postmaster and its backends at once: no shutdown, no goodbye."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the server leads its own process group
            except ProcessLookupError:
                pass
        process.wait(timeout=10)
        self._process = None

    def remove(self) -> None:
        """Stop the server at once and delete its directory."""
        try:
            self.stop(signal_number=signal.SIGQUIT, timeout=10)
        finally:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None

    def log_tail(self) -> str:
        if self._dir is None or not (self._dir / "postgres.log").exists():
            return ""
        return (self._dir / "postgres.log").read_text(errors="replace")[-3000:]

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def _init_cluster(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="test-postgres-"))
        if self._as_user is not None:
            account = pwd.getpwnam(self._as_user)
            os.chown(self._dir, account.pw_uid, account.pw_gid)
        result = subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                OS_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            cwd=self._dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
            **self._user_options(),
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout.decode()}{result.stderr.decode()}")

    def _spawn(self, timeout: float) -> None:
        assert self._dir is not None
        settings = {
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            # the socket stays in the temp dir, away from the shared server's /var/run/postgresql
            "unix_socket_directories": str(self._dir),
            "fsync": "off",  # a throw-away cluster: speed over durability
            "full_page_writes": "off",
            "max_connections": "50",
            "shared_buffers": "16MB",
        }
        command = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with open(self._dir / "postgres.log", "ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self._dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: a Ctrl-C on the run is not sent to it
                **self._user_options(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self._is_ready():
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"PostgreSQL did not start on port {self.port}:\n{self.log_tail()}")

    def _is_ready(self) -> bool:
        result = subprocess.run(
            [
                str(self.bin_dir / "pg_isready"),
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-t",
                "1",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def _user_options(self) -> dict[str, Any]:
        if self._as_user is None:
            return {}
        return {
            "user": self._as_user,
            "group": pwd.getpwnam(self._as_user).pw_gid,
            "extra_groups": [],
        }


@contextmanager
def private_postgres_server() -> Iterator[PostgresServer]:
    """A started private server, stopped and deleted on exit."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()
