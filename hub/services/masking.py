"""Masking personal data in customer questions before the trainer console stores them.

Trainers read unanswered questions to improve the bot; they never need a customer's phone number, ID number or
card number, so those are replaced by a placeholder naming what was there (``[手机号]``, ``[身份证号]``,
``[银行卡号]``, ``[邮箱]``; any other run of 11 or more digits becomes ``[号码]``). Full-width digits are folded
first, so ``１３８…`` is caught too. Digits are bounded by "not a digit" rather than ``\\b``: Chinese characters
count as word characters, so ``我的手机13812345678`` has no word boundary before the number.
"""

from __future__ import annotations

import re

# Full-width digits (１２３) → ASCII, so one set of patterns covers both.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_SEPARATOR = r"[ \-]?"  # customers group long numbers with a space or a hyphen: 6222 0212 3456 7890

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("[邮箱]", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")),
    # Resident ID: 6-digit region, birth date 18xx–20xx, 3-digit sequence, check digit or X (18); or the old 15.
    (
        "[身份证号]",
        re.compile(
            r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]"
            r"(?![0-9A-Za-z])"
            r"|(?<!\d)[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?!\d)"
        ),
    ),
    # Bank cards: 16–19 digits, optionally grouped.
    ("[银行卡号]", re.compile(rf"(?<!\d)\d(?:{_SEPARATOR}\d){{15,18}}(?!\d)")),
    # Mainland mobile numbers, optionally +86 and grouped 3-4-4.
    ("[手机号]", re.compile(rf"(?<!\d)(?:\+?86{_SEPARATOR})?1[3-9]\d{_SEPARATOR}\d{{4}}{_SEPARATOR}\d{{4}}(?!\d)")),
    # Landlines with an area code: 010-12345678, 0755-1234567.
    ("[电话]", re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")),
    # Anything else that long is an account, order or contract number.
    ("[号码]", re.compile(r"(?<!\d)\d{11,}(?!\d)")),
)


def mask_personal_data(text: str) -> str:
    """``text`` with phone, ID, card and other long numbers and e-mail addresses replaced by placeholders."""
    masked = text.translate(_FULL_WIDTH_DIGITS)
    for placeholder, pattern in PATTERNS:
        masked = pattern.sub(placeholder, masked)
    return masked
