"""One line per step of a long model job (conversion, export), each with the seconds it took."""

from __future__ import annotations

import time
from collections.abc import Callable


class Stopwatch:
    """Reports each step with the seconds since the previous one."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log
        self._last = time.perf_counter()

    def done(self, what: str) -> None:
        """Logs ``  <what> (<seconds> s)`` and starts timing the next step."""
        now = time.perf_counter()
        self._log(f"  {what} ({now - self._last:.1f} s)")
        self._last = now
