"""Money, rates and times as customers read them (actions/formatting.py)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from actions.formatting import day, moment, percent, rate_percent, to_fen, yuan


@pytest.mark.parametrize(
    ("fen", "shown"),
    [(0, "0.00"), (5, "0.05"), (50_000, "500.00"), (123_456_789, "1,234,567.89"), (-302_800, "-3,028.00")],
)
def test_yuan_shows_two_decimals_and_thousands(fen: int, shown: str) -> None:
    assert yuan(fen) == shown


@pytest.mark.parametrize(
    ("amount", "fen"),
    [
        (5000, 500_000),
        ("5000", 500_000),
        (3.5, 350),
        ("1,234.56", 123_456),
        (Decimal("0.01"), 1),
        (0, None),
        (-5, None),
        ("0.001", None),
        ("abc", None),
        ("NaN", None),
        ("Infinity", None),
        (True, None),
        (None, None),
    ],
)
def test_to_fen_reads_amounts_in_yuan(amount: Any, fen: int | None) -> None:
    assert to_fen(amount) == fen


@pytest.mark.parametrize(("value", "shown"), [("0.02", "0.02"), ("0.045", "0.045"), ("7.3", "7.30"), ("18", "18.00")])
def test_percent_keeps_at_least_two_decimals(value: str, shown: str) -> None:
    assert percent(Decimal(value)) == shown


def test_rate_percent_daily_and_annual_simple_rate() -> None:
    assert rate_percent(20) == ("0.02", "7.30")
    assert rate_percent(45) == ("0.045", "16.425")
    assert rate_percent(50) == ("0.05", "18.25")


def test_day_and_moment_in_beijing_time() -> None:
    assert day(date(2025, 3, 5)) == "2025-03-05"
    assert moment(datetime(2025, 3, 5, 16, 30, tzinfo=timezone.utc)) == "2025-03-06 00:30"
