"""The pure rules of the stage lifecycle: no I/O, microseconds each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from desk.clock import to_us
from desk.errors import DeskError, ErrorCode
from desk.rules import (
    AutoCloseSchedule,
    auto_close_eligible,
    bot_active,
    check_manual_target,
    is_closed,
    normalise_stage_name,
    period_for,
    period_us,
    schedule_auto_close,
    transition_source,
    validate_period,
    validate_sent_at,
    validate_snooze_until,
)
from models.enums import Channel, StageKind, TransitionSource

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
PERIOD = timedelta(days=3)


def schedule(**overrides: object) -> AutoCloseSchedule:
    arguments: dict[str, object] = {
        "now": NOW,
        "was_eligible": True,
        "is_eligible": True,
        "fresh_period": False,
        "period_started_at": NOW - DAY,
        "last_customer_message_at": None,
        "enabled": True,
        "period": PERIOD,
    }
    arguments.update(overrides)
    return schedule_auto_close(**arguments)  # type: ignore[arg-type]


def fails(code: ErrorCode, field: list[str] | None = None) -> pytest.RaisesExc[DeskError]:
    """Expect a DeskError with this code (and this field, when given)."""
    return pytest.raises(
        DeskError, check=lambda e: e.code is code and (field is None or e.field == field)
    )


# --- schedule_auto_close ----------------------------------------------------------------------


def test_a_new_ticket_is_due_one_period_after_creation() -> None:
    result = schedule(was_eligible=False, fresh_period=True, period_started_at=NOW)
    assert result.period_started_at == NOW
    assert result.anchor_us == to_us(NOW)
    assert result.due_us == to_us(NOW + PERIOD)


def test_staying_eligible_keeps_the_running_period() -> None:
    result = schedule()
    assert result.period_started_at == NOW - DAY
    assert result.due_us == to_us(NOW - DAY + PERIOD)


def test_a_later_customer_message_moves_the_anchor() -> None:
    message = NOW - timedelta(hours=2)
    result = schedule(last_customer_message_at=message)
    assert result.anchor_us == to_us(message)
    assert result.due_us == to_us(message + PERIOD)


def test_a_customer_message_before_the_period_start_does_not_count() -> None:
    result = schedule(last_customer_message_at=NOW - 2 * DAY)
    assert result.anchor_us == to_us(NOW - DAY)


def test_becoming_eligible_again_starts_a_fresh_period() -> None:
    result = schedule(was_eligible=False, last_customer_message_at=NOW - 2 * DAY)
    assert result.period_started_at == NOW
    assert result.due_us == to_us(NOW + PERIOD)


def test_a_fresh_period_restarts_an_eligible_ticket() -> None:
    result = schedule(fresh_period=True)
    assert result.period_started_at == NOW
    assert result.due_us == to_us(NOW + PERIOD)


@pytest.mark.parametrize("fresh", [False, True])
def test_an_ineligible_ticket_has_no_clock(fresh: bool) -> None:
    result = schedule(is_eligible=False, fresh_period=fresh)
    assert result.anchor_us is None and result.due_us is None
    assert result.period_started_at == (NOW if fresh else NOW - DAY)


def test_auto_close_disabled_keeps_the_anchor_but_no_due_time() -> None:
    result = schedule(enabled=False)
    assert result.anchor_us == to_us(NOW - DAY)
    assert result.due_us is None


def test_microsecond_precision_survives() -> None:
    start = NOW + timedelta(microseconds=7)
    result = schedule(was_eligible=False, fresh_period=True, now=start, period=timedelta(seconds=2))
    assert result.due_us == to_us(start) + 2_000_000


# --- stage kinds --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(StageKind))
def test_bot_active_and_closed_exactly_for_closed_kinds(kind: StageKind) -> None:
    closed = kind in (StageKind.CLOSED, StageKind.AUTO_CLOSED)
    assert bot_active(kind) is closed
    assert is_closed(kind) is closed


@pytest.mark.parametrize(
    ("kind", "stage_flag", "eligible"),
    [
        (StageKind.OPEN, True, True),
        (StageKind.INTERMEDIATE, True, True),
        (StageKind.INTERMEDIATE, False, False),
        (StageKind.CLOSED, True, False),
        (StageKind.SNOOZED, True, False),
        (StageKind.AUTO_CLOSED, True, False),
    ],
)
def test_auto_close_eligibility(kind: StageKind, stage_flag: bool, eligible: bool) -> None:
    assert auto_close_eligible(kind, stage_flag) is eligible


@pytest.mark.parametrize("kind", [StageKind.AUTO_CLOSED, StageKind.SNOOZED])
def test_nobody_moves_a_ticket_to_auto_closed_or_snoozed_by_hand(kind: StageKind) -> None:
    with fails(ErrorCode.INVALID_TRANSITION, ["stageId"]):
        check_manual_target(kind)


@pytest.mark.parametrize("kind", [StageKind.OPEN, StageKind.CLOSED, StageKind.INTERMEDIATE])
def test_manual_targets_allowed(kind: StageKind) -> None:
    check_manual_target(kind)


@pytest.mark.parametrize("from_kind", [StageKind.CLOSED, StageKind.AUTO_CLOSED])
@pytest.mark.parametrize("requested", [TransitionSource.MANUAL, TransitionSource.BULK])
def test_leaving_closed_by_hand_is_a_reopen(
    from_kind: StageKind, requested: TransitionSource
) -> None:
    assert transition_source(from_kind, requested) is TransitionSource.REOPEN


@pytest.mark.parametrize("from_kind", [StageKind.OPEN, StageKind.SNOOZED, StageKind.INTERMEDIATE])
@pytest.mark.parametrize("requested", [TransitionSource.MANUAL, TransitionSource.BULK])
def test_other_moves_keep_their_source(from_kind: StageKind, requested: TransitionSource) -> None:
    assert transition_source(from_kind, requested) is requested


def test_system_sources_are_never_rewritten() -> None:
    for source in (
        TransitionSource.STAGE_DELETED,
        TransitionSource.CUSTOMER_REPLY,
        TransitionSource.AUTO_CLOSE,
    ):
        assert transition_source(StageKind.CLOSED, source) is source


# --- names ----------------------------------------------------------------------------------


def test_stage_names_are_trimmed() -> None:
    assert normalise_stage_name("  In progress \t", ["name"]) == "In progress"
    assert normalise_stage_name(" " + "x" * 50 + " ", ["name"]) == "x" * 50


@pytest.mark.parametrize(
    "name", ["", "   ", "\t", "x" * 51, "bad\x00name", "line\nbreak", "del\x7f"]
)
def test_bad_stage_names_are_refused(name: str) -> None:
    with fails(ErrorCode.VALIDATION, ["name"]):
        normalise_stage_name(name, ["name"])


# --- periods, snooze and message times ------------------------------------------------------


@pytest.mark.parametrize("period", [timedelta(seconds=1), DAY, timedelta(days=365)])
def test_good_periods(period: timedelta) -> None:
    validate_period(period, ["autoClosePeriod"])


@pytest.mark.parametrize(
    "period",
    [
        timedelta(0),
        -DAY,
        timedelta(days=365, seconds=1),
        timedelta(seconds=1.5),
        timedelta(days=400),
    ],
)
def test_bad_periods(period: timedelta) -> None:
    with fails(ErrorCode.VALIDATION, ["autoClosePeriod"]):
        validate_period(period, ["autoClosePeriod"])


def test_period_in_microseconds_and_per_channel() -> None:
    assert period_us(timedelta(days=3)) == 3 * 86_400 * 1_000_000
    assert period_us(timedelta(seconds=1, microseconds=5)) == 1_000_005
    assert period_for(Channel.EMAIL, 3600, {"EMAIL": 60}) == timedelta(seconds=60)
    assert period_for(Channel.SMS, 3600, {"EMAIL": 60}) == timedelta(hours=1)


@pytest.mark.parametrize("ahead", [timedelta(microseconds=1), DAY, timedelta(days=365)])
def test_snooze_until_in_the_future_within_a_year(ahead: timedelta) -> None:
    validate_snooze_until(NOW + ahead, NOW)


@pytest.mark.parametrize(
    "ahead", [timedelta(0), -timedelta(seconds=1), timedelta(days=365, microseconds=1)]
)
def test_snooze_until_now_past_or_beyond_a_year_is_refused(ahead: timedelta) -> None:
    with fails(ErrorCode.VALIDATION, ["until"]):
        validate_snooze_until(NOW + ahead, NOW)


@pytest.mark.parametrize("offset", [-timedelta(days=30), timedelta(0), timedelta(minutes=5)])
def test_sent_at_up_to_five_minutes_ahead(offset: timedelta) -> None:
    validate_sent_at(NOW + offset, NOW)


def test_sent_at_further_ahead_is_refused() -> None:
    with fails(ErrorCode.VALIDATION, ["sentAt"]):
        validate_sent_at(NOW + timedelta(minutes=5, microseconds=1), NOW)
