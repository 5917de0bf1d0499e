"""Reading what customers type into the bank forms: codes, choices, all-or-part, card numbers, counts.

Pure functions, no Rasa, no backend. Entity values (amount, term, date, card_last4) arrive normalised from
the NLU pipeline; these functions read the free text the forms take as it is (``from_text`` slots). The
Chinese words here are input vocabulary, never replies: every reply is a domain response.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from bot.components.chinese_numbers import parse_digit_string, parse_integer

FULL, PARTIAL = "full", "partial"  # repay_scope values
BIND, UNBIND = "bind", "unbind"  # card_operation values
DEFAULT_TRANSACTIONS = 5  # answers "最近的交易" without flooding the chat
MAX_TRANSACTIONS = 10  # a chat is not a statement; longer histories are in the app

_SEPARATORS = re.compile(r"[\s\-_.,，。、]+")
_SIX_DIGITS = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_FOUR_DIGITS = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_CHOICE = re.compile(r"^第?([0-9零〇一二两三四五六七八九十]+)(?:笔|筆|个|個|项|項|张|張)?$")
_COUNT = re.compile(r"([0-9零〇一二两三四五六七八九十百]+)\s*(?:笔|筆|条|條)")
_CARD_NUMBER = re.compile(r"^\d{16,19}$")  # UnionPay debit card numbers have 16 to 19 digits
_MOBILE = re.compile(r"^1\d{10}$")  # mainland mobile numbers: 11 digits starting with 1
# "Part" is checked before "all": 一部分 must not read as 全部.
_PARTIAL_WORDS = ("部分", "部份", "一点", "一些", "一半", "少还", "少還")
_FULL_WORDS = (
    "全部",
    "全额",
    "全額",
    "全还",
    "全還",
    "都还",
    "结清",
    "結清",
    "还清",
    "還清",
    "一次性",
    "所有",
    "本期",
    "这期",
)
_UNBIND_WORDS = ("解绑", "解綁", "解除", "删除", "刪除", "移除", "删掉", "刪掉")
# The loan purposes customers name most, each recorded under the first word. Short answers like 消费 or 旅游 are
# also read as other intents (消费 as a transactions request), so the form recognises them itself.
_PURPOSES: tuple[tuple[str, ...], ...] = (
    ("日常消费", "消费", "日常开销", "日常开支", "日常花销", "生活开销", "生活开支", "生活费", "购物", "买东西",
     "日常消費", "消費", "購物"),
    ("装修", "装修房子", "家装", "裝修"),
    ("买车", "购车", "買車", "購車"),
    ("旅游", "旅行", "出去玩", "度假", "旅遊"),
    ("教育", "学费", "交学费", "培训", "上学", "读书", "學費", "交學費", "培訓"),
    ("医疗", "看病", "治病", "住院", "医药费", "醫療", "醫藥費"),
    ("结婚", "婚礼", "办婚礼", "婚庆", "結婚", "婚禮"),
    ("买家电", "家电", "买电器", "買家電", "家電"),
    ("资金周转", "周转", "应急", "急用", "資金周轉", "周轉", "應急"),
)  # fmt: skip
_PURPOSE_OF = {alias: purposes[0] for purposes in _PURPOSES for alias in purposes}
# Words around a purpose in an answer: 主要是日常消费, 装修用的, 拿来买车吧.
_PURPOSE_PREFIXES = ("主要", "就是", "是", "我", "想", "要", "打算", "准备", "準備", "拿来", "拿來", "拿去", "用来",
                     "用來", "用于", "用於", "用在", "用作", "借来", "借來", "借钱", "借錢", "这笔钱", "這筆錢", "为了",
                     "為了")  # fmt: skip
_PURPOSE_SUFFIXES = ("用途", "方面", "之类", "用", "的", "钱", "錢", "吧", "啊", "呀", "呢", "哦", "了", "啦", "嘛")
_PURPOSE_PUNCTUATION = re.compile(r"[\s,，。.!！?？~～、\"“”'‘’]+")


def compact(text: Any) -> str:
    """Full-width characters folded (NFKC), spaces, dashes and punctuation between digits removed."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", str(text or "")))


def otp_from_text(text: Any) -> str | None:
    """The 6-digit code in a message: ``验证码是 907 216`` -> ``907216``; spoken digits count; else None."""
    if not isinstance(text, str):
        return None
    folded = compact(text)
    match = _SIX_DIGITS.search(folded)
    if match:
        return match.group(1)
    spoken = parse_digit_string(folded)
    return spoken if spoken is not None and len(spoken) == 6 else None


def parse_choice(text: Any, count: int) -> int | None:
    """A 1-based position in a list of `count`: ``2``, ``第二笔``, ``２`` -> 2; None if not one."""
    if isinstance(text, int) and not isinstance(text, bool):
        number: int | None = text
    else:
        match = _CHOICE.match(compact(text))
        number = parse_integer(match.group(1)) if match else None
    return number if number is not None and 1 <= number <= count else None


def last_four(text: Any) -> str | None:
    """The 4 digits a customer names a card by (``尾号1234的那张``), or None."""
    match = _FOUR_DIGITS.search(compact(text))
    return match.group(1) if match else None


def parse_scope(text: Any) -> str | None:
    """``还一部分`` -> partial, ``全部还清`` -> full, anything else None."""
    if not isinstance(text, str):
        return None
    folded = unicodedata.normalize("NFKC", text)
    if any(word in folded for word in _PARTIAL_WORDS):
        return PARTIAL
    if any(word in folded for word in _FULL_WORDS):
        return FULL
    return None


def loan_purpose(text: Any) -> str | None:
    """The purpose a short answer names, by its recorded name: ``主要是消费吧`` -> 日常消费; else None.

    Only an answer that is a purpose and nothing more counts: ``消费记录`` and ``装修能借多少`` are not purposes.
    """
    if not isinstance(text, str):
        return None
    answer = _PURPOSE_PUNCTUATION.sub("", unicodedata.normalize("NFKC", text))
    while answer:
        if answer in _PURPOSE_OF:
            return _PURPOSE_OF[answer]
        shorter = next((answer[len(word) :] for word in _PURPOSE_PREFIXES if answer.startswith(word)), None)
        if shorter is None:
            shorter = next((answer[: -len(word)] for word in _PURPOSE_SUFFIXES if answer.endswith(word)), None)
        if shorter is None:
            return None
        answer = shorter
    return None


def operation_of(text: Any) -> str:
    """``把尾号1234的卡解绑`` -> unbind; anything else (绑卡, 换卡, 添加银行卡) -> bind."""
    return UNBIND if isinstance(text, str) and any(word in text for word in _UNBIND_WORDS) else BIND


def luhn_ok(number: str) -> bool:
    """The Luhn check every card number passes; it catches one wrong digit or two swapped ones."""
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def card_number(text: Any) -> str | None:
    """A debit card number (16-19 digits, Luhn-valid) with spaces removed, or None."""
    number = compact(text)
    return number if _CARD_NUMBER.match(number) and luhn_ok(number) else None


def mobile_number(text: Any) -> str | None:
    """An 11-digit mainland mobile number (``+86`` allowed), or None."""
    phone = compact(text).removeprefix("+86")
    return phone if _MOBILE.match(phone) else None


def mask_phone(phone: str) -> str:
    """``13800000001`` -> ``138****0001``."""
    return f"{phone[:3]}****{phone[-4:]}"


def requested_count(text: Any) -> int:
    """How many transactions the customer asked for (``最近十笔``), within 1..`MAX_TRANSACTIONS`."""
    match = _COUNT.search(unicodedata.normalize("NFKC", text)) if isinstance(text, str) else None
    count = parse_integer(match.group(1)) if match else None
    return min(max(count, 1), MAX_TRANSACTIONS) if count else DEFAULT_TRANSACTIONS


def iso_day(value: Any) -> date | None:
    """A ``date`` entity value (ISO, maybe with a time) as a day, or None."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
