"""Rules that find ``card_last4``, ``date``, ``term`` and ``amount`` in a Chinese message.

Spans come from regular expressions over the message, because jieba splits numerals unpredictably
(``3.5万分20期`` becomes ``3.5 / 万分 / 20 / 期``). What the words *around* a bare number mean comes from
spaCy: a blank ``zh`` pipeline with the jieba segmenter and a `Matcher` for money words, so that 借 in
借钱 counts and 借 in 借记卡 does not, and 还 counts while 还是 does not.

The entity types are extracted in that order, and each one masks the characters it claimed before the
next one looks, so a card tail is never also an amount, ``2月30日`` (claimed, but impossible) yields no
amount ``30``, and ``两万十期`` is 两万 and 十期, not 20 010.

A bare Arabic number (no 元, no 万) is an amount only in a money context: a money word anywhere in the
message (借, 还款, 转账, borrow …) or a term beside it (``8000分10期``). A message that is nothing but a number
(fillers such as 就 and 吧 aside) is an amount when it looks like one: round to 100 元 and not six digits,
which is the SMS code's length; four digits that are not a round amount (``0921``, ``6228``) are a card tail.
Never amounts: phone numbers (11 digits starting with 1), numbers with a leading zero, numbers right after
尾号 / 验证码 / 手机号 and the like, and numbers followed by a unit of something else (2025年, 3个, 5期).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import spacy
from spacy.matcher import Matcher

from bot.components.chinese_dates import find_dates
from bot.components.chinese_numbers import CHINESE_NUMERAL_CHARS, parse_amount, parse_digit_string, parse_integer
from bot.components.variants import fold

AMOUNT, TERM, DATE, CARD_LAST4 = "amount", "term", "date", "card_last4"

# The product's longest term is 20 期; 30 years (360 months) still covers any loan a customer could mean.
MAX_TERM_MONTHS = 360
MAX_TERM_YEARS = 30

_MASK = "\0"
_DIGIT_CHARS = "零〇一二两三四五六七八九"
_SPOKEN_DIGIT_CHARS = _DIGIT_CHARS + "幺洞"
_MAGNITUDE_CHARS = "百佰千仟万亿kKwW"
_TENS_CHARS = "十拾廿卅"

# -- card_last4 ------------------------------------------------------------------------------------------
_CARD = re.compile(
    r"(?:尾号|尾数|末尾|后四位|后4位|末四位|末4位|最后四位|最后4位)\s*(?:是|为|:)?\s*"
    rf"(?P<digits>[0-9]{{4}}(?![0-9])|[{_SPOKEN_DIGIT_CHARS}]{{4}}(?![{_SPOKEN_DIGIT_CHARS}十百千万]))"
)

# -- term ------------------------------------------------------------------------------------------------
_TERM_COUNT = rf"(?P<count>[0-9]{{1,4}}|[{_DIGIT_CHARS}十廿卅]{{1,4}})"
# 第3期, 这一期, 下一期, 最近一期, 前三期, 近三个月, 过去半年: one instalment or a stretch of time, not a term.
_NOT_A_TERM_BEFORE = rf"(?<![0-9.{_DIGIT_CHARS}十第这那下上本每哪前后近去大])"
# 两年前, 3个月后 (a point in time); 三个月内, 半年的流水 (a stretch of time): not a term either.
_NOT_A_TERM_AFTER = r"(?!前|后|以前|以后|之前|之后|内|以内|之内|的?(?:流水|账单|记录|明细|交易))"
_TERM_PERIODS = re.compile(rf"{_NOT_A_TERM_BEFORE}{_TERM_COUNT}\s*期{_NOT_A_TERM_AFTER}")
_TERM_MONTHS = re.compile(rf"{_NOT_A_TERM_BEFORE}{_TERM_COUNT}\s*个\s*月{_NOT_A_TERM_AFTER}(?!底|初)")
_TERM_YEARS = re.compile(
    rf"{_NOT_A_TERM_BEFORE}{_TERM_COUNT}\s*年(?P<half>半)?{_NOT_A_TERM_AFTER}"
    rf"(?![0-9{CHINESE_NUMERAL_CHARS}月底初级化])"
)
_HALF_YEAR = re.compile(rf"{_NOT_A_TERM_BEFORE}半年{_NOT_A_TERM_AFTER}")

# -- amount ----------------------------------------------------------------------------------------------
_ARABIC = r"[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?"
_NUMERAL = (
    rf"(?:{_ARABIC}|[{CHINESE_NUMERAL_CHARS}])"
    rf"(?:{_ARABIC}|[{CHINESE_NUMERAL_CHARS}]|点(?=[0-9{_DIGIT_CHARS}])|[wWkK](?![A-Za-z]))*"
)
_AMOUNT = re.compile(
    rf"(?P<prefix>(?:[¥￥]|rmb|人民币)\s*)?(?P<number>{_NUMERAL})"
    r"(?P<currency>\s*(?:元整|元钱|块钱|元|块|圆|人民币|rmb))?",
    re.IGNORECASE,
)
# Codes, identifiers, days and rates named just before a number; a sign, a letter or a clock time (15:30).
_NOT_MONEY_BEFORE = re.compile(
    r"(?:尾号|尾数|后四位|后4位|末四位|末4位|卡号|账号|验证码|校验码|动态码|密码|手机号?|电话|号码|身份证号?"
    r"|编号|单号|工号|邮编|qq|微信号?|还款日|账单日|日期|期数|期限|利率|年化)\s*(?:是|为|:)?\s*$"
    r"|[A-Za-z+\-#负第]$|[0-9]:$",
    re.IGNORECASE,
)
# A unit of something other than money right after the number, "more than" (5000多), or a clock time.
_NOT_MONEY_AFTER = re.compile(
    r"[A-Za-z0-9]|:[0-9]|\s*(?:个|期|年|月|日|号|天|周|星期|礼拜|岁|次|笔|张|位|点|%|分钟|小时|秒|倍|人|条|份|台"
    rf"|楼|层|页|遍|多|几|来|余|儿|分(?![0-9{CHINESE_NUMERAL_CHARS}期{_MASK}]))"
)
_PHONE = re.compile(r"1[0-9]{10}")
_FEN_PRECISION = re.compile(r"[0-9]+\.[0-9]{2}")

# -- context words (matched on spaCy tokens) -----------------------------------------------------------
# Whole tokens that are money words only on their own: 还 is "repay", but 还是 / 还有 are "or" / "still".
_MONEY_WORDS = [
    *("还", "提前还", "欠", "转", "取", "存", "付", "扣", "钱", "用钱"),
    *("borrow", "repay", "pay", "loan", "lend", "transfer", "amount", "yuan", "rmb"),
]
# Morphemes that make any token a money word, however jieba (with or without the project's banking
# dictionary) cuts the text: 借 / 要借 / 借款 / 提前还款 / 可用额度.
_MONEY_MORPHEMES = (
    "[借贷]|还款|还钱|结清|转账|汇款|提现|取现|存款|充值|付款|支付|扣款|欠款|额度|金额|本金|利息|余额|到账|放款|收款"
)
_NOT_MONEY_WORDS = ["借记卡", "借记", "借鉴", "借口", "借助", "凭借", "借书"]
_FILLER_WORDS = [
    *("就", "吧", "啊", "呀", "嗯", "哦", "噢", "好", "好的", "是", "是的", "就是", "了", "的", "那", "那就"),
    *("先", "要", "我要", "大概", "差不多", "左右", "额", "呃", "嗯嗯", "ok", "okay"),
]


@dataclass(frozen=True)
class ExtractedEntity:
    """One entity found in a message, with its normalised value and its surface text."""

    entity: str
    start: int
    end: int
    value: int | float | str
    text: str


@dataclass(frozen=True)
class _Claim:
    entity: str
    start: int
    end: int
    value: int | float | str | None  # None: the span is taken, but holds no valid value


@dataclass(frozen=True)
class _Context:
    """What the message as a whole says about its bare numbers."""

    has_money_word: bool
    content_spans: tuple[tuple[int, int], ...]  # tokens that are not fillers, punctuation or emoji

    def only_content_is(self, start: int, end: int) -> bool:
        """True when everything of substance in the message lies within [start, end)."""
        return all(start <= s and e <= end for s, e in self.content_spans)


@functools.lru_cache(maxsize=1)
def _pipeline() -> tuple[Any, Any]:
    """The blank spaCy ``zh`` pipeline with jieba and the money-word matcher, built once per process."""
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    matcher = Matcher(nlp.vocab)
    matcher.add("MONEY", [[{"LOWER": {"IN": _MONEY_WORDS}}]])
    matcher.add("MONEY", [[{"TEXT": {"REGEX": _MONEY_MORPHEMES}, "LOWER": {"NOT_IN": _NOT_MONEY_WORDS}}]])
    matcher.add("FILLER", [[{"LOWER": {"IN": _FILLER_WORDS}}]])
    return nlp, matcher


def warm_up() -> None:
    """Builds the spaCy pipeline and loads jieba's dictionary now, not on the first customer's message."""
    nlp, _ = _pipeline()
    nlp("借5000")


def _context(text: str) -> _Context:
    nlp, matcher = _pipeline()
    doc = nlp(text)
    labels = {(doc[start].idx, nlp.vocab.strings[key]) for key, start, _ in matcher(doc)}
    content = tuple(
        (token.idx, token.idx + len(token.text))
        for token in doc
        if any(c.isalnum() for c in token.text) and (token.idx, "FILLER") not in labels
    )
    return _Context(any(label == "MONEY" for _, label in labels), content)


def _claims(pattern: re.Pattern[str], text: str, group: str = "") -> Iterator[tuple[re.Match[str], int, int]]:
    for match in pattern.finditer(text):
        yield match, match.start(group or 0), match.end(group or 0)


def _card_claims(text: str) -> list[_Claim]:
    return [
        _Claim(CARD_LAST4, start, end, parse_digit_string(match["digits"]))
        for match, start, end in _claims(_CARD, text, "digits")
    ]


def _standalone_card_claims(text: str, context: _Context) -> list[_Claim]:
    """A message that is only four digits and not a round amount (0921, 6228) answers "which card"."""
    match = re.search(r"(?<![0-9])[0-9]{4}(?![0-9])", text)
    if match is None or not context.only_content_is(match.start(), match.end()):
        return []
    if _looks_like_round_amount(match.group()):
        return []
    return [_Claim(CARD_LAST4, match.start(), match.end(), match.group())]


def _term_value(count: str, months_per_count: int, extra_months: int, limit: int) -> int | None:
    number = parse_integer(count)
    if number is None or not 1 <= number <= limit:
        return None
    return number * months_per_count + extra_months


def _term_claims(text: str) -> list[_Claim]:
    claims = [
        _Claim(TERM, start, end, _term_value(match["count"], 1, 0, MAX_TERM_MONTHS))
        for pattern in (_TERM_PERIODS, _TERM_MONTHS)
        for match, start, end in _claims(pattern, text)
    ]
    claims += [
        _Claim(TERM, start, end, _term_value(match["count"], 12, 6 if match["half"] else 0, MAX_TERM_YEARS))
        for match, start, end in _claims(_TERM_YEARS, text)
    ]
    claims += [_Claim(TERM, start, end, 6) for _, start, end in _claims(_HALF_YEAR, text)]
    return claims


def _date_claims(text: str, today: date) -> list[_Claim]:
    return [
        _Claim(DATE, found.start, found.end, found.value.isoformat() if found.value else None)
        for found in find_dates(text, today)
    ]


def _looks_like_round_amount(number: str) -> bool:
    """Whether a bare number on its own reads as money: whole hundreds, or 元 and 分 (1234.56)."""
    if number.startswith("0") or len(number) == 6:
        return False
    return _FEN_PRECISION.fullmatch(number) is not None or (number.isdigit() and int(number) % 100 == 0)


def _is_money(match: re.Match[str], text: str, context: _Context, money_context: bool) -> bool:
    """Decides whether a numeral, with its currency words, is a money amount in this message."""
    number, currency = match["number"], (match["prefix"] or "") + (match["currency"] or "")
    if _NOT_MONEY_BEFORE.search(text, 0, match.start()):
        return False
    if not match["currency"] and _NOT_MONEY_AFTER.match(text, match.end()):
        return False
    has_chinese = any(c in CHINESE_NUMERAL_CHARS or c == "点" for c in number)
    has_magnitude = any(c in _MAGNITUDE_CHARS for c in number)
    has_tens = any(c in _TENS_CHARS for c in number)
    if currency.strip():
        # 一块 can be "together" (一块去); a unit-less Chinese numeral needs a money word with 块.
        unitless = has_chinese and not has_tens and not has_magnitude
        return not (unitless and currency.strip() == "块") or money_context
    if has_magnitude:
        return True
    if has_chinese:
        # 五十 only beside a money word; 一, 三点 (o'clock) and other unit-less numerals never.
        return "点" not in number and has_tens and money_context
    plain = number.replace(",", "")
    if plain.startswith("0") or _PHONE.fullmatch(plain):
        return False
    if money_context:
        return True
    return context.only_content_is(match.start(), match.end()) and _looks_like_round_amount(plain)


def _amount_value(value: int | Decimal) -> int | float:
    """Entity values go into the tracker as JSON: whole 元 stay int, 元 with 分 become a 2-place float."""
    return value if isinstance(value, int) else float(value)


def _amount_claims(text: str, context: _Context, money_context: bool) -> list[_Claim]:
    claims = []
    for match, start, end in _claims(_AMOUNT, text):
        value = parse_amount(match.group())
        if value is not None and _is_money(match, text, context, money_context):
            claims.append(_Claim(AMOUNT, start, end, _amount_value(value)))
    return claims


def _non_overlapping(claims: list[_Claim]) -> list[_Claim]:
    """Keeps the longest of overlapping claims (the earlier one on a tie)."""
    kept: list[_Claim] = []
    for claim in sorted(claims, key=lambda c: (c.start - c.end, c.start)):
        if all(claim.end <= other.start or other.end <= claim.start for other in kept):
            kept.append(claim)
    return kept


def _mask(text: str, claims: list[_Claim]) -> str:
    for claim in claims:
        text = text[: claim.start] + _MASK * (claim.end - claim.start) + text[claim.end :]
    return text


def extract_entities(text: str, today: date) -> list[ExtractedEntity]:
    """Finds and normalises every amount, term, date and card_last4 in a message.

    Args:
        text: The customer's message as typed (traditional characters and full-width digits are fine).
        today: The date that 明天, 下周一 and 15号 are counted from.

    Returns:
        The entities in text order. ``amount`` and ``term`` values are numbers (元, months), ``date`` is an
        ISO ``YYYY-MM-DD`` string and ``card_last4`` a string of four digits; ``text`` is the surface form.
    """
    folded = fold(text)
    context = _context(folded)
    stages: list[Callable[[str], list[_Claim]]] = [
        _card_claims,
        lambda masked: _date_claims(masked, today),
        _term_claims,
    ]
    claims: list[_Claim] = []
    masked = folded
    for stage in stages:
        found = _non_overlapping(stage(masked))
        claims += found
        masked = _mask(masked, found)
    money_context = context.has_money_word or any(c.entity == TERM and c.value for c in claims)
    amounts = _amount_claims(masked, context, money_context)
    claims += amounts or _standalone_card_claims(masked, context)
    return [
        ExtractedEntity(claim.entity, claim.start, claim.end, claim.value, text[claim.start : claim.end])
        for claim in sorted(claims, key=lambda c: c.start)
        if claim.value is not None
    ]
