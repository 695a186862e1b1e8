"""Pure rules of the stage lifecycle: no I/O, so they test in microseconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from desk.clock import to_us
from desk.errors import DeskError, ErrorCode
from models.enums import Channel, StageKind, TransitionSource

CLOSED_KINDS = frozenset({StageKind.CLOSED, StageKind.AUTO_CLOSED})
SYSTEM_KINDS = frozenset(
    {StageKind.OPEN, StageKind.CLOSED, StageKind.SNOOZED, StageKind.AUTO_CLOSED}
)
SYSTEM_STAGES: tuple[tuple[str, StageKind], ...] = (
    ("Open", StageKind.OPEN),
    ("Closed", StageKind.CLOSED),
    ("Snoozed", StageKind.SNOOZED),
    ("Auto closed", StageKind.AUTO_CLOSED),
)
MAX_INTERMEDIATE_STAGES = 50
MAX_SNOOZE_AHEAD = timedelta(days=365)
MAX_MESSAGE_AHEAD = timedelta(minutes=5)
MAX_PERIOD = timedelta(days=365)


def is_closed(kind: StageKind) -> bool:
    return kind in CLOSED_KINDS


def bot_active(kind: StageKind) -> bool:
    """The chatbot operates only on closed chats."""
    return kind in CLOSED_KINDS


def auto_close_eligible(kind: StageKind, stage_auto_close: bool) -> bool:
    return kind is StageKind.OPEN or (kind is StageKind.INTERMEDIATE and stage_auto_close)


def check_manual_target(kind: StageKind) -> None:
    """Stages an agent may not move a ticket to by a plain stage change."""
    if kind is StageKind.AUTO_CLOSED:
        raise DeskError(
            ErrorCode.INVALID_TRANSITION,
            "only the system moves tickets to Auto closed",
            ["stageId"],
        )
    if kind is StageKind.SNOOZED:
        raise DeskError(
            ErrorCode.INVALID_TRANSITION,
            "moving to Snoozed needs a wake time or until-reply: use snoozeTicket",
            ["stageId"],
        )


def transition_source(from_kind: StageKind, requested: TransitionSource) -> TransitionSource:
    """Leaving Closed or Auto closed is always a reopen."""
    if from_kind in CLOSED_KINDS and requested in (TransitionSource.MANUAL, TransitionSource.BULK):
        return TransitionSource.REOPEN
    return requested


@dataclass(frozen=True)
class AutoCloseSchedule:
    """Where a ticket's inactivity clock stands after a change."""

    period_started_at: datetime
    anchor_us: int | None  # max(period start, last customer message); None when not eligible
    due_us: int | None  # anchor + period; None when not eligible or auto-close is off


def schedule_auto_close(
    *,
    now: datetime,
    was_eligible: bool,
    is_eligible: bool,
    fresh_period: bool,
    period_started_at: datetime,
    last_customer_message_at: datetime | None,
    enabled: bool,
    period: timedelta,
) -> AutoCloseSchedule:
    """The seed's rule: due at the later of period start and last customer message, plus period.

    A ticket that becomes eligible again (reopen, wake, leaving a paused stage) or is told to
    start afresh gets a period starting now; while not eligible its clock is paused (no due time).
    """
    start = now if (fresh_period or (is_eligible and not was_eligible)) else period_started_at
    if not is_eligible:
        return AutoCloseSchedule(start, None, None)
    anchor = start
    if last_customer_message_at is not None and last_customer_message_at > anchor:
        anchor = last_customer_message_at
    anchor_us = to_us(anchor)
    due_us = anchor_us + period_us(period) if enabled else None
    return AutoCloseSchedule(start, anchor_us, due_us)


def period_us(period: timedelta) -> int:
    return (period.days * 86_400 + period.seconds) * 1_000_000 + period.microseconds


def period_for(
    channel: Channel | str, default_seconds: int, by_channel: dict[str, int]
) -> timedelta:
    return timedelta(seconds=by_channel.get(str(channel), default_seconds))


def validate_period(period: timedelta, field: list[str]) -> None:
    if period <= timedelta(0):
        raise DeskError(ErrorCode.VALIDATION, "the period must be positive", field)
    if period > MAX_PERIOD:
        raise DeskError(ErrorCode.VALIDATION, "the period must be at most 365 days", field)
    if period.microseconds:
        # stored as whole seconds: PT0.5S would silently become a period of zero
        raise DeskError(ErrorCode.VALIDATION, "the period is a whole number of seconds", field)


def has_control_characters(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def normalise_stage_name(name: str, field: list[str]) -> str:
    trimmed = name.strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in trimmed):
        raise DeskError(ErrorCode.VALIDATION, "a stage name cannot hold control characters", field)
    if not trimmed:
        raise DeskError(ErrorCode.VALIDATION, "a stage name cannot be empty", field)
    if len(trimmed) > 50:
        raise DeskError(ErrorCode.VALIDATION, "a stage name has at most 50 characters", field)
    return trimmed


def validate_snooze_until(until: datetime, now: datetime) -> None:
    if until <= now:
        raise DeskError(ErrorCode.VALIDATION, "the wake time must be in the future", ["until"])
    if until - now > MAX_SNOOZE_AHEAD:
        raise DeskError(ErrorCode.VALIDATION, "the wake time is at most one year ahead", ["until"])


def validate_sent_at(sent_at: datetime, now: datetime) -> None:
    if sent_at - now > MAX_MESSAGE_AHEAD:
        raise DeskError(
            ErrorCode.VALIDATION, "sentAt is more than 5 minutes in the future", ["sentAt"]
        )
