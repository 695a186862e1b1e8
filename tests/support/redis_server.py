"""A private, throw-away ``redis-server`` for tests that break Redis on purpose.

    with RedisServer() as server:        # started on a free port, in a temp dir
        server.url                       # redis://127.0.0.1:PORT/0
        server.kill()                    # SIGKILL: connections reset, port closed
        server.restart()                 # a fresh process on the same port
        server.freeze(); server.thaw()   # SIGSTOP / SIGCONT: TCP open, no answers

Everything is synchronous and quick (start ~20 ms); call it through ``asyncio.to_thread``
from async code when timing matters. The process and the directory are always cleaned up.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

REDIS_SERVER = shutil.which("redis-server") or "redis-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers_ping(port: int, timeout: float = 0.2, host: str = "127.0.0.1") -> bool:
    """True when a Redis on host:port answers PING (plain socket, no client library)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, port: int | None = None, *, binary: str = REDIS_SERVER) -> None:
        self._requested_port = port
        self.port = port or 0
        self._binary = binary
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._frozen = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 5.0) -> None:
        if self.running:
            raise RuntimeError("redis-server is already running")
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="test-redis-"))
        if self._requested_port:
            self._spawn(timeout)
            return
        for attempt in range(5):
            self.port = free_port()
            try:
                self._spawn(timeout)
                return
            except RuntimeError:
                if attempt == 4:  # the free port keeps being taken meanwhile
                    raise

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no goodbye to clients."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)
        self._process = None
        self._frozen = False

    def restart(self, timeout: float = 5.0) -> None:
        """Kill if still running, then start again on the same port."""
        self.kill()
        self._spawn(timeout)

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing is answered."""
        if not self.running or self._process is None:
            raise RuntimeError("redis-server is not running")
        self._process.send_signal(signal.SIGSTOP)
        self._frozen = True

    def thaw(self) -> None:
        if self._process is not None and self._frozen:
            self._process.send_signal(signal.SIGCONT)
        self._frozen = False

    def stop(self) -> None:
        try:
            self.thaw()
            self.kill()
        finally:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self, timeout: float) -> None:
        assert self._dir is not None
        command = [
            self._binary,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--protected-mode", "no"),
            *("--dir", str(self._dir)),
        ]
        with open(self._dir / "redis.log", "ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self._dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C on the test run is not sent to it
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if answers_ping(self.port):
                return
            time.sleep(0.01)
        output = self._log_tail()
        self.kill()
        raise RuntimeError(f"redis-server did not start on port {self.port}:\n{output}")

    def _log_tail(self) -> str:
        if self._dir is None:
            return ""
        path = self._dir / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@contextmanager
def private_redis_server() -> Iterator[RedisServer]:
    """A started private server, stopped (and its directory removed) on exit."""
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
