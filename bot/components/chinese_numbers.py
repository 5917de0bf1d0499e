"""Parse the numerals customers write: Chinese, Arabic and the two mixed.

Pure functions, no Rasa. What they accept:

- Arabic, with or without thousands separators and decimals: ``5000``, ``5,000``, ``1234.56``.
- Chinese, everyday and financial forms, traditional or simplified: ``两千五百``, ``伍仟``, ``貳萬``,
  ``十二``, ``二十``, ``廿五``, ``一千零五``, ``三点五万``.
- The colloquial abbreviation where the digit after the last unit counts in the next lower place:
  ``三万五`` = 35 000, ``两千五`` = 2 500, ``一万二`` = 12 000, ``3千5`` = 3 500 (but ``一万零五`` = 10 005).
- Arabic numbers with Chinese or Latin units: ``3.5万``, ``1万2000``, ``1w``, ``1W``, ``2k``, ``15k``.

Anything else is rejected with ``None`` rather than guessed: ``万万``, ``千万`` (as in 千万别), ``三点``,
``一二三`` (a digit string, see `parse_digit_string`), ``五千多``, negative numbers and anything above
`MAX_NUMBER`.

Amounts (`parse_amount`) are in 元: whole amounts come back as ``int``; amounts with 角 and 分 come back as a
``Decimal`` with exactly two places (``1234.56``); amounts finer than one 分 are rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from bot.components.variants import fold

# Far above anything a retail customer names (the credit limit tops out at 200,000 元); a larger number is a
# typo, an account number or a code, never an amount or a count we should act on.
MAX_NUMBER = 10**9

_DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "贰": 2,
    "两": 2,
    "三": 3,
    "叁": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
# Units within a 万-section, then the units that close a section. Latin k / w are how people type on phones.
_SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "k": 1000, "K": 1000}
_BIG_UNITS: dict[str, int] = {"万": 10**4, "w": 10**4, "W": 10**4, "亿": 10**8}
_LATIN_UNITS = frozenset("kKwW")
# 廿 and 卅 are 二十 and 三十 in one character.
_TENS: dict[str, int] = {"廿": 2, "卅": 3}
# Read out digit by digit (phone numbers, card tails), 幺 is 1 and 洞 is 0.
_SPOKEN_DIGITS: dict[str, int] = {**_DIGITS, "幺": 1, "洞": 0}

#: Every character that can be part of a Chinese numeral (after `fold`); entity rules build patterns from it.
CHINESE_NUMERAL_CHARS = "".join(_DIGITS) + "十拾百佰千仟万亿" + "".join(_TENS)

_ARABIC = re.compile(r"[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?")
_POINT = re.compile(r"(?P<integer>[^点]+)点(?P<fraction>[^点]+?)(?P<unit>[十百千万亿kKwW]?)")
_CURRENCY_PREFIX = re.compile(r"^(?:[¥￥]|rmb|人民币)\s*", re.IGNORECASE)
_CURRENCY_SUFFIX = re.compile(r"\s*(?:元整|元钱|块钱|元|块|圆|人民币|rmb)$", re.IGNORECASE)
_FEN = Decimal("0.01")


@dataclass(frozen=True)
class _Number:
    value: Decimal
    single_digit: bool


@dataclass(frozen=True)
class _Unit:
    value: int
    big: bool
    latin: bool


_Token: TypeAlias = _Number | _Unit


def _tokenise(text: str) -> list[_Token] | None:
    """Splits a numeral into numbers and units, or returns None on any other character."""
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        arabic = _ARABIC.match(text, position)
        if arabic:
            tokens.append(_Number(Decimal(arabic.group().replace(",", "")), len(arabic.group()) == 1))
            position = arabic.end()
            continue
        if char in _DIGITS:
            tokens.append(_Number(Decimal(_DIGITS[char]), single_digit=True))
        elif char in _TENS:
            tokens += [_Number(Decimal(_TENS[char]), single_digit=True), _Unit(10, big=False, latin=False)]
        elif char in _SMALL_UNITS:
            tokens.append(_Unit(_SMALL_UNITS[char], big=False, latin=char in _LATIN_UNITS))
        elif char in _BIG_UNITS:
            tokens.append(_Unit(_BIG_UNITS[char], big=True, latin=char in _LATIN_UNITS))
        else:
            return None
        position += 1
    return tokens


def _evaluate(tokens: list[_Token]) -> Decimal | None:
    """Evaluates numeral tokens the way Chinese reads them: 万-sections of 千/百/十 places."""
    total = Decimal(0)
    section = Decimal(0)
    pending: _Number | None = None
    smallest_in_section: int | None = None
    smallest_big: int | None = None
    last_unit: int | None = None
    after_zero = False
    for token in tokens:
        if isinstance(token, _Number):
            if pending is not None:
                return None  # two numbers in a row: 一二, 5 5
            if token.value == 0 and last_unit is not None:
                after_zero = True  # 一千零五: the zero only says a place is empty
                continue
            pending = token
        elif not token.big:
            if pending is None:
                # A bare 十 means 一十 (十二, 十万), no other unit may stand alone (千万 is an adverb).
                if token.value != 10 or (section and not after_zero):
                    return None
                multiplier = Decimal(1)
            else:
                multiplier = pending.value
                if multiplier <= 0 or (multiplier >= 10 and not token.latin):
                    return None
            if smallest_in_section is not None and token.value >= smallest_in_section:
                return None  # places must fall: 五十百, 一千一千
            section += multiplier * token.value
            smallest_in_section = last_unit = token.value
            pending, after_zero = None, False
        else:
            if pending is not None:
                section += pending.value
                pending = None
            if section <= 0 or (smallest_big is not None and token.value >= smallest_big):
                return None  # 万万, 一万二万
            total += section * token.value
            section = Decimal(0)
            smallest_in_section = None
            smallest_big = last_unit = token.value
            after_zero = False
    if pending is not None:
        trailing = _trailing_value(pending, last_unit, after_zero)
        if trailing is None:
            return None
        section += trailing
    return total + section if tokens else None


def _trailing_value(pending: _Number, last_unit: int | None, after_zero: bool) -> Decimal | None:
    """Values the number after the last unit: 三万五 → 5000, 一万零五 → 5, 1万2000 → 2000, 1万20000 → None."""
    if last_unit is None:
        return pending.value
    if pending.single_digit and not after_zero:
        return pending.value * last_unit / 10
    if pending.value == pending.value.to_integral_value() and pending.value < last_unit:
        return pending.value
    return None


def _parse_decimal_point(text: str) -> Decimal | None:
    """Parses 三点五 (3.5) and 三点五万 (35 000): an integer, 点, a digit string and at most one unit."""
    match = _POINT.fullmatch(text)
    if match is None:
        return None
    tokens = _tokenise(match["integer"])
    fraction = parse_digit_string(match["fraction"])
    if tokens is None or fraction is None or any(isinstance(t, _Unit) and t.big for t in tokens):
        return None
    integer = _evaluate(tokens)
    if integer is None or integer != integer.to_integral_value():
        return None
    unit = match["unit"]
    scale = _SMALL_UNITS.get(unit) or _BIG_UNITS.get(unit) or 1
    return Decimal(f"{integer}.{fraction}") * scale


def parse_number(text: str) -> Decimal | None:
    """Parses a Chinese, Arabic or mixed numeral.

    Args:
        text: The numeral alone, e.g. ``"三万五"``, ``"3.5万"``, ``"2k"``; surrounding spaces are ignored.

    Returns:
        The value, or None when ``text`` is not a well-formed numeral between 0 and `MAX_NUMBER`.

    Example:
        >>> parse_number("两千五百")
        Decimal('2500')
    """
    folded = fold(text).strip()
    if "点" in folded:
        value = _parse_decimal_point(folded)
    else:
        tokens = _tokenise(folded)
        value = _evaluate(tokens) if tokens else None
    if value is None or not 0 <= value <= MAX_NUMBER:
        return None
    return value


def parse_integer(text: str) -> int | None:
    """Parses a numeral that must be a whole number, such as a count of months or a day of the month.

    Args:
        text: The numeral alone, e.g. ``"十二"`` or ``"12"``.

    Returns:
        The value, or None when ``text`` is not a numeral or not whole (``"1.5"``).
    """
    value = parse_number(text)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


def parse_amount(text: str) -> int | Decimal | None:
    """Parses a money amount in 元, with an optional currency sign or word.

    Args:
        text: The amount alone, e.g. ``"五千块"``, ``"1万块钱"``, ``"¥1,234.56"``, ``"两千五百元"``.

    Returns:
        Whole 元 as ``int`` (``5000``); an amount with 角 or 分 as a ``Decimal`` with two places
        (``Decimal("1234.56")``); None for zero, for anything finer than one 分 and for non-amounts.

    Example:
        >>> parse_amount("3.5万")
        35000
    """
    bare = _CURRENCY_SUFFIX.sub("", _CURRENCY_PREFIX.sub("", fold(text).strip()))
    value = parse_number(bare)
    if value is None or value <= 0 or value != value.quantize(_FEN):
        return None
    if value == value.to_integral_value():
        return int(value)
    return value.quantize(_FEN)


def parse_digit_string(text: str) -> str | None:
    """Reads digits one by one, as in card tails and codes: ``"一二三四"`` → ``"1234"``.

    Args:
        text: Arabic and/or Chinese digits (幺 = 1 and 洞 = 0 included), no units.

    Returns:
        The ASCII digit string, or None when ``text`` is empty or holds anything but digits.
    """
    folded = fold(text).strip()
    digits = [str(_SPOKEN_DIGITS[c]) if c in _SPOKEN_DIGITS else c for c in folded]
    if not digits or not all(d in "0123456789" for d in digits):
        return None
    return "".join(digits)
