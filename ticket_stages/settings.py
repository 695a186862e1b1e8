"""Settings read once from the environment, frozen, and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://./ticket_stages.db"
    redis_url: str | None = None
    sweep_interval: float = 30.0
    reports_dir: Path = Path("./reports")
    allowed_origins: tuple[str, ...] = ()
    rate_limit_per_minute: int = 1200
    database_pool_size: int = 20
    log_json: bool = False

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            database_url=_text(env, "DATABASE_URL", defaults.database_url),
            redis_url=_text(env, "REDIS_URL", None) or None,
            sweep_interval=_positive_float(env, "TICKET_STAGES_SWEEP_INTERVAL", 30.0),
            reports_dir=Path(_text(env, "TICKET_STAGES_REPORTS_DIR", "./reports")),
            allowed_origins=_origins(env, "TICKET_STAGES_ALLOWED_ORIGINS"),
            rate_limit_per_minute=_positive_int(env, "TICKET_STAGES_RATE_LIMIT", 1200),
            database_pool_size=_positive_int(env, "TICKET_STAGES_DB_POOL_SIZE", 20),
            log_json=_bool(env, "TICKET_STAGES_LOG_JSON", False),
        )


def _text(env: Mapping[str, str], name: str, default: str | None) -> str:
    value = env.get(name)
    if value is None or value.strip() == "":
        if default is None:
            return ""
        return default
    value = value.strip()
    if name == "DATABASE_URL" and not value.startswith(("sqlite://", "postgres://", "asyncpg://")):
        raise SettingsError(
            f"{name}={value!r} is not supported: use sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB"
        )
    if name == "REDIS_URL" and not value.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"{name}={value!r} is not a Redis URL (redis://HOST:PORT/DB)")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if not value > 0 or value != value or value == float("inf"):
        raise SettingsError(f"{name}={raw!r} must be a positive number of seconds")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be a positive whole number")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean (use true or false)")


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise SettingsError(
                f"{name} contains {origin!r}: origins look like https://dashboard.example.com"
            )
    return origins
