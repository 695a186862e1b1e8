"""Cells and file names that leave the service (pure functions)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from desk.csv_safety import download_file_names, neutralise
from desk.report_rows import day_bounds


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+1 555", "'+1 555"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\n=1", "'\n=1"),
        ("  =1", "'  =1"),
        ("\uff1dA1", "'\uff1dA1"),
        ("alice", "alice"),
        ("a=b", "a=b"),
        ("", ""),
        ("   ", "   "),
        ("'quoted", "'quoted"),
    ],
)
def test_neutralise(cell: str, shown: str) -> None:
    assert neutralise(cell) == shown


@pytest.mark.parametrize(
    ("name", "ascii_name", "utf8_name"),
    [
        ("January", "January.csv", "January.csv"),
        ("Ventes été", "Ventes ete.csv", "Ventes été.csv"),
        ("../../etc/passwd", "etc_passwd.csv", "_.._etc_passwd.csv"),
        ('a"b\r\nc', "a_bc.csv", "a_bc.csv"),
        ("...", "report.csv", "report.csv"),
        ("売上", "report.csv", "売上.csv"),
        ("x" * 100, "x" * 80 + ".csv", "x" * 80 + ".csv"),
    ],
)
def test_download_file_names_are_safe(name: str, ascii_name: str, utf8_name: str) -> None:
    assert download_file_names(name) == (ascii_name, utf8_name)


def test_day_bounds_are_local_midnights() -> None:
    start, end = day_bounds(date(2026, 3, 10), date(2026, 3, 10), ZoneInfo("Africa/Johannesburg"))
    assert (start, end) == (
        datetime(2026, 3, 9, 22, tzinfo=UTC),
        datetime(2026, 3, 10, 22, tzinfo=UTC),
    )
    # Berlin's 25-hour day when summer time ends
    start, end = day_bounds(date(2026, 10, 25), date(2026, 10, 25), ZoneInfo("Europe/Berlin"))
    assert (end - start).total_seconds() == 25 * 3600
