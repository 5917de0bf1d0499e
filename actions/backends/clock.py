"""Time for the bank backends, injected so tests move time instead of sleeping.

Every date that matters to a loan (the loan day, due dates, overdue days) is a calendar day in Beijing
time, so the clocks here speak Beijing time. China has had no daylight saving time since 1991, so a fixed
UTC+8 offset is exact and needs no time-zone database.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol

BANK_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class Clock(Protocol):
    """Where the backends read the time from."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...

    def today(self) -> date:
        """Return today's date in Beijing time."""
        ...


class SystemClock:
    """The real clock, in Beijing time."""

    def now(self) -> datetime:
        """Return the current time in Beijing time."""
        return datetime.now(BANK_TZ)

    def today(self) -> date:
        """Return today's date in Beijing time."""
        return self.now().date()


class FakeClock:
    """A clock that only moves when told to; for tests and demos.

    Args:
        start: The first time it reports; a naive value is taken as Beijing time.
    """

    def __init__(self, start: datetime) -> None:
        self._now = start if start.tzinfo else start.replace(tzinfo=BANK_TZ)

    def now(self) -> datetime:
        """Return the fake current time."""
        return self._now

    def today(self) -> date:
        """Return the fake current date in Beijing time."""
        return self._now.astimezone(BANK_TZ).date()

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward (or back, with a negative delta)."""
        self._now += delta

    def set(self, moment: datetime) -> None:
        """Jump to a moment; a naive value is taken as Beijing time."""
        self._now = moment if moment.tzinfo else moment.replace(tzinfo=BANK_TZ)


def bank_date(moment: datetime) -> date:
    """The Beijing calendar day of an aware moment."""
    return moment.astimezone(BANK_TZ).date()
