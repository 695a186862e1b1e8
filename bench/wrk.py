"""HTTP load from wrk (C, one thread): it leaves the second core to the server under test."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCRIPT = r"""
local ids = {}
local ids_file = os.getenv("BENCH_IDS")
if ids_file then for line in io.lines(ids_file) do ids[#ids + 1] = line end end
local stages = {os.getenv("BENCH_STAGE_A"), os.getenv("BENCH_STAGE_B")}
local template = os.getenv("BENCH_BODY")
local auth = os.getenv("BENCH_AUTH")
local n = 0
request = function()
  local body = template
  if #ids > 0 then
    n = n + 1
    local idx = (n % #ids) + 1
    local stage = stages[(math.floor(n / #ids) % 2) + 1]
    body = string.format(template, ids[idx], stage)
  end
  local headers = {["Content-Type"] = "application/json"}
  if auth then headers["Authorization"] = auth end
  return wrk.format("POST", nil, headers, body)
end
"""


@dataclass
class Load:
    requests_per_second: float
    latency_p50_ms: float
    latency_p99_ms: float
    errors: int


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"wrk printed a latency this does not read: {text!r}")
    value, unit = match.groups()
    return (
        float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[unit]
    )


def run(
    url: str,
    body: str,
    *,
    auth: str | None = None,
    seconds: float = 5.0,
    connections: int = 32,
    ids: list[str] | None = None,
    stages: tuple[str, str] | None = None,
) -> Load:
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.lua"
        script.write_text(SCRIPT)
        env = {**os.environ, "BENCH_BODY": body}
        if auth:
            env["BENCH_AUTH"] = auth
        if ids:
            ids_file = Path(tmp) / "ids.txt"
            ids_file.write_text("\n".join(ids) + "\n")
            env["BENCH_IDS"] = str(ids_file)
        if stages:
            env["BENCH_STAGE_A"], env["BENCH_STAGE_B"] = stages
        out = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                str(script),
                url,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(errors_match.group(1)) if errors_match else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return Load(rps, p50, p99, errors)
