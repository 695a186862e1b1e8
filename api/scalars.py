"""DateTime with an offset, and ISO 8601 durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import isodate
import strawberry


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string with an offset")
    try:
        parsed = datetime.fromisoformat(
            value.replace("Z", "+00:00") if value.endswith("Z") else value
        )
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no offset: write e.g. 2026-11-24T10:00:00+00:00")
    return parsed.astimezone(UTC)


def _serialize_datetime(value: datetime) -> str:
    return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat()


DateTime = strawberry.scalar(
    name="DateTime",
    description='ISO 8601 date-time with offset, e.g. "2026-11-24T10:00:00+00:00"',
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
)


def _parse_duration(value: object) -> timedelta:
    if not isinstance(value, str):
        raise ValueError("Duration must be an ISO 8601 duration string such as P3D or PT12H")
    try:
        parsed = isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError):
        raise ValueError(f"{value!r} is not an ISO 8601 duration (e.g. P3D, PT12H, PT2S)") from None
    if not isinstance(parsed, timedelta):
        raise ValueError(f"{value!r} uses months or years: use days, hours, minutes or seconds")
    return parsed


def _serialize_duration(value: timedelta) -> str:
    return str(isodate.duration_isoformat(value))


Duration = strawberry.scalar(
    name="Duration",
    description='ISO 8601 duration, e.g. "P3D", "PT12H", "PT2S"',
    serialize=_serialize_duration,
    parse_value=_parse_duration,
)

SCALAR_MAP = {datetime: DateTime, timedelta: Duration}
