"""Tests for bot/components/chinese_numbers.py: numerals, amounts, whole numbers and digit strings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.components.chinese_numbers import (
    MAX_NUMBER,
    parse_amount,
    parse_digit_string,
    parse_integer,
    parse_number,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5000", 5000),
        ("5000元", 5000),
        ("五千块", 5000),
        ("3.5万", 35000),
        ("三万五", 35000),
        ("两千五百元", 2500),
        ("两千五", 2500),
        ("1w", 10000),
        ("1W", 10000),
        ("2k", 2000),
        ("15k", 15000),
        ("一万二", 12000),
        ("3千5", 3500),
        ("1万2000", 12000),
        ("1万块钱", 10000),
        ("十万", 100000),
        ("十万五", 105000),
        ("一千零五", 1005),
        ("一千零五十", 1050),
        ("一百二", 120),
        ("三点五万", 35000),
        ("伍仟元", 5000),
        ("貳萬", 20000),
        ("兩萬塊", 20000),
        ("5,000元", 5000),
        ("¥8000", 8000),
        ("人民币5000元", 5000),
        ("１２３４元", 1234),
        ("一亿", 100_000_000),
    ],
)
def test_parse_amount_valid_surface_returns_whole_yuan(text: str, expected: int) -> None:
    value = parse_amount(text)

    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1234.56元", Decimal("1234.56")), ("¥0.5", Decimal("0.50")), ("一点二元", Decimal("1.20"))],
)
def test_parse_amount_with_fen_returns_two_place_decimal(text: str, expected: Decimal) -> None:
    value = parse_amount(text)

    assert value == expected
    assert isinstance(value, Decimal)
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "万万",
        "千万",
        "三点",
        "-5000",
        "负五千",
        "0元",
        "零",
        "0.001元",
        "20亿",
        f"{MAX_NUMBER + 1}",
        "五千多",
        "一二三",
        "1万20000",
        "五十百",
        "一百十",
        "1,2345",
        "三块五",
        "abc",
    ],
)
def test_parse_amount_nonsense_returns_none(text: str) -> None:
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("十二", 12), ("二十", 20), ("廿五", 25), ("卅", 30), ("十", 10), ("零", 0), ("〇", 0), ("12", 12), ("两", 2)],
)
def test_parse_integer_small_numeral_returns_value(text: str, expected: int) -> None:
    assert parse_integer(text) == expected


@pytest.mark.parametrize("text", ["1.5", "三点五", "十二个", "二十期"])
def test_parse_integer_fraction_or_trailing_word_returns_none(text: str) -> None:
    assert parse_integer(text) is None


def test_parse_number_max_number_is_accepted() -> None:
    assert parse_number(str(MAX_NUMBER)) == MAX_NUMBER


def test_parse_number_decimal_with_unit_returns_exact_decimal() -> None:
    assert parse_number("1.5千") == Decimal(1500)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("一二三四", "1234"), ("0921", "0921"), ("幺洞洞幺", "1001"), ("６２２８", "6228"), ("五5五5", "5555")],
)
def test_parse_digit_string_digits_returns_ascii_digits(text: str, expected: str) -> None:
    assert parse_digit_string(text) == expected


@pytest.mark.parametrize("text", ["", "十二", "12a", "1,234"])
def test_parse_digit_string_non_digit_returns_none(text: str) -> None:
    assert parse_digit_string(text) is None
