"""Where the hub's "now" comes from: services take a :class:`Clock`, tests pass a :class:`FakeClock`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FakeClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2024, 5, 6, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0.0, **kwargs: float) -> datetime:
        """Move forward by ``seconds`` (plus any ``timedelta`` keyword such as ``minutes=3``)."""
        self._now += timedelta(seconds=seconds, **kwargs)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment
