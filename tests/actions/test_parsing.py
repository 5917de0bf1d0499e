"""Reading what customers type into the forms (actions/parsing.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from actions.parsing import (
    card_number,
    iso_day,
    last_four,
    loan_purpose,
    luhn_ok,
    mask_phone,
    mobile_number,
    operation_of,
    otp_from_text,
    parse_choice,
    parse_scope,
    requested_count,
)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("482913", "482913"),
        ("验证码是907216", "907216"),
        ("907 216", "907216"),
        ("９０７２１６", "907216"),
        ("九零七二一六", "907216"),
        ("12345", None),
        ("1234567", None),
        ("好的", None),
        (None, None),
    ],
)
def test_otp_from_text_finds_six_digits(text: Any, code: str | None) -> None:
    assert otp_from_text(text) == code


@pytest.mark.parametrize(
    ("text", "position"),
    [("1", 1), ("第二笔", 2), ("２", 2), ("第3个", 3), (2, 2), ("4", None), ("0", None), ("随便", None)],
)
def test_parse_choice_reads_a_position_in_a_list_of_three(text: Any, position: int | None) -> None:
    assert parse_choice(text, 3) == position


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("全部还清", "full"),
        ("一次性结清", "full"),
        ("还这期", "full"),
        ("还一部分", "partial"),
        ("部分", "partial"),
        ("嗯", None),
    ],
)
def test_parse_scope_reads_all_or_part(text: str, scope: str | None) -> None:
    assert parse_scope(text) == scope


@pytest.mark.parametrize(
    ("text", "purpose"),
    [
        ("消费", "日常消费"),
        ("日常消费", "日常消费"),
        ("主要是日常消费吧", "日常消费"),
        ("日常消費。", "日常消费"),
        ("装修用的", "装修"),
        ("拿来买车", "买车"),
        ("旅游！", "旅游"),
        ("交学费", "教育"),
        ("看病用", "医疗"),
        ("急用钱", "资金周转"),
    ],
)
def test_loan_purpose_names_a_known_purpose_by_its_recorded_name(text: str, purpose: str) -> None:
    assert loan_purpose(text) == purpose


@pytest.mark.parametrize(
    "text",
    [
        "消费记录",
        "查一下最近的消费",
        "装修能借多少",
        "借款用途有限制吗",
        "算了",
        "转人工",
        "我要借钱",
        "/cancel",
        "",
        None,
    ],
)
def test_loan_purpose_of_a_request_or_question_is_none(text: Any) -> None:
    assert loan_purpose(text) is None


@pytest.mark.parametrize(
    ("text", "operation"),
    [
        ("我要绑卡", "bind"),
        ("换绑卡", "bind"),
        ("解绑银行卡", "unbind"),
        ("把尾号1234的卡删除", "unbind"),
        (None, "bind"),
    ],
)
def test_operation_of_tells_bind_from_unbind(text: Any, operation: str) -> None:
    assert operation_of(text) == operation


def test_card_number_and_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert card_number("4111-1111-1111-1111") == "4111111111111111"
    assert card_number("411111111111") is None


def test_mobile_number_and_mask() -> None:
    assert mobile_number("138-0000-0001") == "13800000001"
    assert mobile_number("+86 138 0000 0001") == "13800000001"
    assert mobile_number("23800000001") is None
    assert mask_phone("13800000001") == "138****0001"


def test_last_four_finds_a_card_tail() -> None:
    assert last_four("尾号 1234 的那张") == "1234"
    assert last_four("第二张") is None


@pytest.mark.parametrize(
    ("text", "count"), [("最近十笔交易", 10), ("最近3条", 3), ("最近一百笔", 10), ("流水", 5), (None, 5)]
)
def test_requested_count_is_bounded(text: Any, count: int) -> None:
    assert requested_count(text) == count


def test_iso_day_reads_date_entities() -> None:
    assert iso_day("2025-03-01") == date(2025, 3, 1)
    assert iso_day("2025-03-01T00:00:00+08:00") == date(2025, 3, 1)
    assert iso_day("下个月") is None
    assert iso_day(None) is None
