"""Find Chinese date expressions in a message and resolve them to calendar dates.

Pure functions over text that `variants.fold` has already folded; every date is computed from an explicit
``today`` so callers (and tests) control the clock.

Resolution rules, in the order the patterns are tried:

- absolute: ``2026-12-01``, ``2026/12/1``, ``2026年12月1日``.
- month and day: ``3月5日``, ``三月五号``, ``今年3月5号``. Without a year the date is the 3月5日 closest to
  today (last year, this year or next year; a tie goes to the future), so 1月5日 said in December is next
  January and 3月5日 said in June is this March.
- day with a month word: ``下个月15号``, ``本月20日``, ``上月1号``.
- day alone: ``15号``, ``十五日``: the 15th closest to today (last, this or next month). Recurring days
  (``每月15号``) and spans (``5日内``) are not dates.
- month end: ``月底`` / ``下个月底`` (last day of the month), ``年底`` / ``明年底`` (31 December).
- weekdays: ``周五`` / ``星期五`` / ``礼拜五`` is the next Friday (today if today is Friday);
  ``这周五`` / ``本周五`` is Friday of this Monday-to-Sunday week; ``下周五``, ``下下周五``, ``上周五`` shift it
  by whole weeks.
- relative days: ``今天``, ``明天``, ``后天``, ``大后天``, ``昨天``, ``前天``, ``大前天``; ``3天后``, ``两周后``.

A well-formed but impossible date (``2月30日``, ``32号``) still claims its span, with no value, so that no
other rule reads ``30`` or ``32`` out of it.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import NamedTuple

from bot.components.chinese_numbers import CHINESE_NUMERAL_CHARS, parse_integer

# Ten years: "N天后" further out than that is not a date anyone means (nor one `date` can always hold).
MAX_DAYS_AHEAD = 3660


class DateMatch(NamedTuple):
    """A date expression found in a text: its character span and the date, None when impossible."""

    start: int
    end: int
    value: date | None


_INT = rf"(?:[0-9]{{1,4}}|[{CHINESE_NUMERAL_CHARS}]{{1,4}})"
_NOT_AFTER_NUMBER = rf"(?<![0-9{CHINESE_NUMERAL_CHARS}])"
_MONTH_WORD = r"(?P<month_word>下下个?月|下个?月|这个?月|本月|当月|上上个?月|上个?月)"
_YEAR_WORD = r"(?P<year_word>今年|明年|去年)"
_WEEK_WORD = r"(?P<week_word>下下个?|下个?|这个?|本|上上个?|上个?)"

_RELATIVE_DAYS: dict[str, int] = {
    "大前天": -3,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "今天": 0,
    "今日": 0,
    "明天": 1,
    "明日": 1,
    "后天": 2,
    "大后天": 3,
}
_MONTH_OFFSETS: dict[str, int] = {"下下": 2, "下": 1, "这": 0, "本": 0, "当": 0, "上上": -2, "上": -1}
_YEAR_OFFSETS: dict[str, int] = {"去": -1, "今": 0, "明": 1}
_WEEKDAYS: dict[str, int] = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}

_ABSOLUTE = re.compile(
    r"(?<![0-9])(?P<year>[0-9]{4})(?:(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})(?![0-9])"
    rf"|年(?P<cn_month>{_INT})月(?P<cn_day>{_INT})[日号])"
)
_MONTH_DAY = re.compile(rf"{_YEAR_WORD}?{_NOT_AFTER_NUMBER}(?P<month>{_INT})月(?P<day>{_INT})[日号]")
_MONTH_WORD_DAY = re.compile(rf"{_MONTH_WORD}的?(?P<day>{_INT})[日号]")
_DAY = re.compile(rf"(?<!月){_NOT_AFTER_NUMBER}(?P<day>{_INT})[日号](?!内|以内|之内)")
# 每月15号, 每周五: a schedule, not a date.
_RECURRING = re.compile(r"每个?月?的?\s*$")
_MONTH_END = re.compile(r"(?:(?P<month_word>下下个?|下个?|这个?|本|上个?)(?=月底))?月底")
_YEAR_END = re.compile(r"(?P<year_word>今|明|去)?年底")
_WEEKDAY = re.compile(rf"{_NOT_AFTER_NUMBER}{_WEEK_WORD}?(?:周|星期|礼拜)(?P<weekday>[一二三四五六日天1-7])")
_RELATIVE_DAY = re.compile("|".join(sorted(_RELATIVE_DAYS, key=len, reverse=True)))
_DAYS_LATER = re.compile(rf"(?P<count>{_INT})\s*(?P<unit>天|日|周|星期|个星期|礼拜|个礼拜)\s*(?:之后|以后|后)")


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _closest(today: date, candidates: list[date | None]) -> date | None:
    """The valid candidate nearest to today; a tie goes to the later date."""
    valid = [c for c in candidates if c is not None]
    if not valid:
        return None
    return min(valid, key=lambda c: (abs((c - today).days), -c.toordinal()))


def _add_months(today: date, months: int) -> tuple[int, int]:
    """The (year, month) ``months`` after today's month."""
    index = today.year * 12 + today.month - 1 + months
    return index // 12, index % 12 + 1


def _month_offset(word: str) -> int:
    """下个月 → 1, 这个月 → 0, 上月 → -1 (the word without its trailing 个 / 月)."""
    return _MONTH_OFFSETS[word.rstrip("月").rstrip("个")]


def _absolute(match: re.Match[str], today: date) -> date | None:
    month, day = match["month"] or match["cn_month"], match["day"] or match["cn_day"]
    month_number, day_number = parse_integer(month), parse_integer(day)
    if month_number is None or day_number is None:
        return None
    return _safe_date(int(match["year"]), month_number, day_number)


def _month_day(match: re.Match[str], today: date) -> date | None:
    month, day = parse_integer(match["month"]), parse_integer(match["day"])
    if month is None or day is None or not 1 <= month <= 12:
        return None
    if match["year_word"]:
        return _safe_date(today.year + _YEAR_OFFSETS[match["year_word"][0]], month, day)
    return _closest(today, [_safe_date(today.year + shift, month, day) for shift in (-1, 0, 1)])


def _month_word_day(match: re.Match[str], today: date) -> date | None:
    day = parse_integer(match["day"])
    if day is None:
        return None
    return _safe_date(*_add_months(today, _month_offset(match["month_word"])), day)


def _day(match: re.Match[str], today: date) -> date | None:
    day = parse_integer(match["day"])
    if day is None:
        return None
    return _closest(today, [_safe_date(*_add_months(today, shift), day) for shift in (-1, 0, 1)])


def _month_end(match: re.Match[str], today: date) -> date | None:
    word = match["month_word"]
    year, month = _add_months(today, _month_offset(word) if word else 0)
    return date(year, month, calendar.monthrange(year, month)[1])


def _year_end(match: re.Match[str], today: date) -> date | None:
    word = match["year_word"]
    return date(today.year + (_YEAR_OFFSETS[word] if word else 0), 12, 31)


def _weekday(match: re.Match[str], today: date) -> date | None:
    char = match["weekday"]
    weekday = int(char) - 1 if char.isdigit() else _WEEKDAYS[char]
    word = match["week_word"]
    if word is None:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    monday = today - timedelta(days=today.weekday())
    weeks = _MONTH_OFFSETS[word.rstrip("个")]
    return monday + timedelta(weeks=weeks, days=weekday)


def _relative_day(match: re.Match[str], today: date) -> date | None:
    return today + timedelta(days=_RELATIVE_DAYS[match.group()])


def _days_later(match: re.Match[str], today: date) -> date | None:
    count = parse_integer(match["count"])
    if count is None or count > MAX_DAYS_AHEAD:
        return None
    return today + timedelta(days=count * (1 if match["unit"] in ("天", "日") else 7))


_RULES = (
    (_ABSOLUTE, _absolute),
    (_MONTH_DAY, _month_day),
    (_MONTH_WORD_DAY, _month_word_day),
    (_DAYS_LATER, _days_later),
    (_DAY, _day),
    (_MONTH_END, _month_end),
    (_YEAR_END, _year_end),
    (_WEEKDAY, _weekday),
    (_RELATIVE_DAY, _relative_day),
)


def find_dates(text: str, today: date) -> list[DateMatch]:
    """Finds every date expression in ``text``, longest first where they overlap.

    Args:
        text: A message folded with `bot.components.variants.fold`.
        today: The date relative expressions count from.

    Returns:
        The non-overlapping matches in text order; ``value`` is None for impossible dates such as 2月30日.
    """
    found: list[DateMatch] = []
    for pattern, resolve in _RULES:
        for match in pattern.finditer(text):
            if pattern in (_DAY, _WEEKDAY) and _RECURRING.search(text, 0, match.start()):
                continue
            found.append(DateMatch(match.start(), match.end(), resolve(match, today)))
    kept: list[DateMatch] = []
    for candidate in sorted(found, key=lambda m: (m.start - m.end, m.start)):
        if all(candidate.end <= other.start or other.end <= candidate.start for other in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda m: m.start)
