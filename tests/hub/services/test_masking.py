"""hub/services/masking.py: personal data never reaches the trainer's inbox; ordinary numbers stay."""

from __future__ import annotations

import pytest

from hub.services.masking import mask_personal_data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的手机13812345678收不到验证码", "我的手机[手机号]收不到验证码"),
        ("手机号 138 1234 5678 换了", "手机号 [手机号] 换了"),
        ("+86-139-1234-5678是我的号", "[手机号]是我的号"),
        ("８６１３９１２３４５６７８", "[手机号]"),  # full-width, with the country code
        ("１３９１２３４５６７８", "[手机号]"),
        ("身份证440301199001011234怎么绑定", "身份证[身份证号]怎么绑定"),
        ("身份证号11010519491231002X过期了", "身份证号[身份证号]过期了"),
        ("老身份证110105491231002", "老身份证[身份证号]"),
        ("卡号6222021234567890123扣款失败", "卡号[银行卡号]扣款失败"),
        ("卡号 6222 0212 3456 7890 还款", "卡号 [银行卡号] 还款"),
        ("6222-0212-3456-7890", "[银行卡号]"),
        ("邮箱 zhang.san@example.com 收不到", "邮箱 [邮箱] 收不到"),
        ("座机0755-12345678打不通", "座机[电话]打不通"),
        ("合同号202411290000123456789", "合同号[号码]"),
        ("两个号码13812345678和13987654321", "两个号码[手机号]和[手机号]"),
    ],
)
def test_mask_personal_data_replaces_what_identifies_a_customer(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "我想借30000元分12期",
        "尾号1234的卡",
        "2024年5月6日还款",
        "日利率0.05%",
        "验证码123456收不到",
        "借3.5万要多少利息",
    ],
)
def test_mask_personal_data_keeps_amounts_dates_and_short_numbers(text: str) -> None:
    assert mask_personal_data(text) == text


def test_mask_personal_data_very_long_digit_run_is_masked() -> None:
    assert mask_personal_data("编号12345678901234567890123456789") == "编号[号码]"


def test_mask_personal_data_is_idempotent() -> None:
    once = mask_personal_data("手机13812345678 卡6222021234567890 身份证440301199001011234")
    assert mask_personal_data(once) == once
    assert "1381234" not in once and "62220212" not in once and "4403011990" not in once
