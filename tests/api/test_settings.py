"""Workspace settings: defaults, updates, validation (nothing changes on bad input)."""

from __future__ import annotations

from tests.api.helpers import Api, problems

DEFAULTS = {
    "autoCloseEnabled": True,
    "autoClosePeriod": "P3D",
    "autoClosePeriodByChannel": [],
    "closedReplyPolicy": "BOT",
}


async def test_defaults(api: Api) -> None:
    assert await api.settings() == DEFAULTS


async def test_update_each_setting(api: Api) -> None:
    payload = await api.update_settings(autoClosePeriod="PT12H")
    assert payload["userErrors"] == [] and payload["settings"] == {
        **DEFAULTS,
        "autoClosePeriod": "PT12H",
    }
    await api.update_settings(
        autoCloseEnabled=False,
        closedReplyPolicy="NEW_TICKET",
        autoClosePeriodByChannel=[
            {"channel": "SMS", "period": "P1DT2H"},
            {"channel": "EMAIL", "period": "P365D"},
        ],
    )
    expected = {
        "autoCloseEnabled": False,
        "autoClosePeriod": "PT12H",
        "autoClosePeriodByChannel": [
            {"channel": "EMAIL", "period": "P365D"},
            {"channel": "SMS", "period": "P1DT2H"},
        ],
        "closedReplyPolicy": "NEW_TICKET",
    }
    assert await api.settings() == expected
    unchanged = await api.update_settings()
    assert unchanged["userErrors"] == [] and unchanged["settings"] == expected
    replaced = await api.update_settings(
        autoClosePeriodByChannel=[{"channel": "WEB_CHAT", "period": "PT2S"}]
    )
    assert replaced["settings"]["autoClosePeriodByChannel"] == [
        {"channel": "WEB_CHAT", "period": "PT2S"}
    ]
    for policy in ("REOPEN", "BOT"):
        assert (await api.update_settings(closedReplyPolicy=policy))["settings"][
            "closedReplyPolicy"
        ] == policy


async def test_periods_must_be_positive_whole_seconds_and_at_most_a_year(api: Api) -> None:
    await api.create_ticket()
    before = await api.snapshot()
    for period in ("P0D", "PT0S", "-P1D", "P366D", "P365DT1S", "PT0.5S"):
        payload = await api.update_settings(autoClosePeriod=period)
        assert payload["settings"] is None, period
        assert problems(payload) == [("VALIDATION", ["autoClosePeriod"])], period
        per_channel = await api.update_settings(
            autoClosePeriod="P1D",
            autoClosePeriodByChannel=[
                {"channel": "SMS", "period": "P1D"},
                {"channel": "EMAIL", "period": period},
            ],
        )
        assert problems(per_channel) == [
            ("VALIDATION", ["autoClosePeriodByChannel", "1", "period"])
        ], period
    assert await api.snapshot() == before


async def test_months_years_and_garbage_durations_are_refused(api: Api) -> None:
    before = await api.snapshot()
    for period in ("P1M", "P1Y", "P1W2", "3 days", ""):
        by_variable = await api.execute(
            "mutation($p: Duration!) { updateSettings(input: {autoClosePeriod: $p}) "
            "{ settings { autoClosePeriod } } }",
            {"p": period},
        )
        assert by_variable.data is None and by_variable.codes == ["BAD_REQUEST"], period
        inline = await api.execute(
            f'mutation {{ updateSettings(input: {{autoClosePeriod: "{period}"}}) '
            "{ settings { autoClosePeriod } } }"
        )
        assert inline.data is None and inline.codes == ["BAD_REQUEST"], period
    months = await api.execute(
        "mutation($p: Duration!) { updateSettings(input: {autoClosePeriod: $p}) "
        "{ settings { autoClosePeriod } } }",
        {"p": "P1M"},
    )
    assert "months" in months.errors[0]["message"]
    assert await api.snapshot() == before


async def test_a_channel_listed_twice_is_refused(api: Api) -> None:
    before = await api.snapshot()
    payload = await api.update_settings(
        autoClosePeriodByChannel=[
            {"channel": "SMS", "period": "P1D"},
            {"channel": "SMS", "period": "P2D"},
        ]
    )
    assert payload["settings"] is None
    assert problems(payload) == [("VALIDATION", ["autoClosePeriodByChannel", "1", "channel"])]
    assert await api.settings() == DEFAULTS
    assert await api.snapshot() == before
