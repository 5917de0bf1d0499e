"""How the bank flows show money, rates and time to the customer, and read amounts back.

Pure functions, no Rasa. The backend counts integer fen; customers read 元 with two decimals.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from actions.backends.clock import BANK_TZ


def yuan(fen: int) -> str:
    """Fen as 元 with thousands separators and two decimals: 1234567 -> ``12,345.67``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def to_fen(amount_yuan: Any) -> int | None:
    """An amount in 元 as the entity extractor or a slot holds it (int, float, str) -> fen; None if not money.

    Zero, negative amounts and amounts finer than one 分 are not money a customer can borrow or repay.
    """
    if isinstance(amount_yuan, bool) or amount_yuan is None:
        return None
    try:
        value = Decimal(str(amount_yuan).strip().replace(",", ""))
    except ArithmeticError:
        return None
    if not value.is_finite() or value <= 0:
        return None
    fen = value * 100
    return int(fen) if fen == fen.to_integral_value() else None


def percent(value: Decimal) -> str:
    """A percentage with at least two decimals and no trailing zeros beyond: 0.045 -> ``0.045``, 7.3 -> ``7.30``."""
    whole, _, fraction = format(value.normalize(), "f").partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def rate_percent(daily_rate_pcm: int) -> tuple[str, str]:
    """A daily rate in pcm as (daily %, annual simple %): 30 -> (``0.03``, ``10.95``)."""
    return percent(Decimal(daily_rate_pcm) / 1000), percent(Decimal(daily_rate_pcm * 365) / 1000)


def day(value: date) -> str:
    """A calendar day as the customer reads it: ``2025-03-15``."""
    return value.isoformat()


def moment(value: datetime) -> str:
    """A time in Beijing time to the minute: ``2025-03-15 10:00``."""
    return value.astimezone(BANK_TZ).strftime("%Y-%m-%d %H:%M")
