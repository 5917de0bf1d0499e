"""The product rules of docs/product.md as constants and pure money maths.

Change docs/product.md first, then this module. Everything here is integer fen and integer pcm
(1/100,000 per day); nothing here touches a database or the clock.

Rounding rule (the only one): every interest or penalty amount is computed exactly as a fraction and
rounded half up to whole fen once per instalment (or once per repayment for interest to date). Principal is
never rounded: it is split in whole fen, the last instalment taking the remainder.

Readings of the rules that product.md leaves open (decided here, stated once):
    * Interest of an instalment runs from the previous due date (the loan day for the first; the day of an
      early repayment if later) to its due date, on the principal of that and all later unpaid instalments.
    * Overdue principal stops earning ordinary interest at its due date and earns penalty interest instead:
      overdue principal x daily rate x 1.5 per overdue day, counted from the day after the due date.
    * A partial early repayment spreads the remaining principal evenly over the remaining instalments
      (same due dates; the last takes the remainder), so every later instalment shrinks.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from actions.backends.base import Fen, Instalment, InstalmentStatus, RatePcm, RepaymentKind
from actions.backends.exceptions import (
    AmountAboveAvailable,
    AmountAboveLoanMaximum,
    AmountAboveOwed,
    AmountBelowDue,
    AmountBelowMinimum,
    AmountNotInSteps,
    InvalidPurpose,
    InvalidTerm,
    NothingToRepay,
)

# -- 微粒贷 ---------------------------------------------------------------------------------------------------
MIN_CREDIT_LIMIT_FEN: Fen = 50_000  # 500 元
MAX_CREDIT_LIMIT_FEN: Fen = 20_000_000  # 200,000 元
MIN_LOAN_FEN: Fen = 50_000  # 500 元
LOAN_STEP_FEN: Fen = 10_000  # whole 元 in steps of 100 元
MAX_LOAN_FEN: Fen = 4_000_000  # 40,000 元 per loan
TERMS: tuple[int, ...] = (5, 10, 20)  # monthly instalments
PCM: int = 100_000  # rates are integers per 100,000
MIN_DAILY_RATE_PCM: RatePcm = 20  # 0.02 % per day = 7.3 % a year
MAX_DAILY_RATE_PCM: RatePcm = 50  # 0.05 % per day = 18.25 % a year
DAYS_PER_YEAR = 365  # annual simple rate = daily x 365
PENALTY_NUMERATOR, PENALTY_DENOMINATOR = 3, 2  # penalty interest = daily rate x 1.5
LATEST_DUE_DAY = 28  # loans made on day 29-31 fall due on day 28
PURPOSE_MAX_CHARS = 50  # a short phrase (消费, 装修); longer text is not a purpose

# -- accounts and identity --------------------------------------------------------------------------------------
MAX_CARDS = 5
OTP_DIGITS = 6
OTP_TTL = timedelta(minutes=5)  # product.md: an SMS code is valid 5 minutes
OTP_MAX_WRONG_ATTEMPTS = 3  # product.md: 3 wrong codes lock verification
OTP_LOCK = timedelta(minutes=30)  # product.md: the lock lasts 30 minutes
# Not in product.md (our choice): how long one successful check unlocks money and card questions. Long enough
# for one service conversation, short enough that a phone left lying around is not an open door.
VERIFICATION_TTL = timedelta(minutes=30)


def round_half_up(numerator: int, denominator: int) -> int:
    """Divide non-negative integers, rounding half up: the one rounding rule of the backend."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up takes a non-negative numerator and a positive denominator")
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if 2 * remainder >= denominator else 0)


def interest_fen(principal_fen: Fen, daily_rate_pcm: RatePcm, days: int) -> Fen:
    """Interest on `principal_fen` for `days` days at the daily rate, rounded half up to fen."""
    return round_half_up(principal_fen * daily_rate_pcm * max(days, 0), PCM)


def penalty_fen(overdue_principal_fen: Fen, daily_rate_pcm: RatePcm, overdue_days: int) -> Fen:
    """Penalty interest: overdue principal x daily rate x 1.5 per overdue day, rounded half up to fen."""
    numerator = overdue_principal_fen * daily_rate_pcm * max(overdue_days, 0) * PENALTY_NUMERATOR
    return round_half_up(numerator, PCM * PENALTY_DENOMINATOR)


def due_date(loan_date: date, number: int) -> date:
    """The due date of instalment `number` (1-based): the loan's day of month, `number` months later."""
    month_index = loan_date.month - 1 + number
    year, month = loan_date.year + month_index // 12, month_index % 12 + 1
    day = loan_date.day if loan_date.day <= LATEST_DUE_DAY else LATEST_DUE_DAY
    assert day <= calendar.monthrange(year, month)[1]
    return date(year, month, day)


def split_principal(principal_fen: Fen, parts: int) -> list[Fen]:
    """Split principal evenly in whole fen; the last part takes the remainder."""
    if parts <= 0 or principal_fen < 0:
        raise ValueError("split_principal takes a non-negative principal and at least one part")
    share = principal_fen // parts
    return [share] * (parts - 1) + [principal_fen - share * (parts - 1)]


def max_loan_fen(available_fen: Fen) -> Fen:
    """The largest loan allowed now: the available limit, at most 40,000 元, in steps; 0 if below 500 元."""
    ceiling = min(max(available_fen, 0), MAX_LOAN_FEN)
    ceiling -= ceiling % LOAN_STEP_FEN
    return ceiling if ceiling >= MIN_LOAN_FEN else 0


def validate_term(term: int) -> None:
    """Raise InvalidTerm unless `term` is 5, 10 or 20."""
    if term not in TERMS:
        raise InvalidTerm(TERMS)


def validate_loan_amount(amount_fen: Fen, available_fen: Fen) -> None:
    """Check a loan amount against the product rules and the available limit.

    Raises:
        AmountBelowMinimum, AmountNotInSteps, AmountAboveLoanMaximum, AmountAboveAvailable.
    """
    if amount_fen < MIN_LOAN_FEN:
        raise AmountBelowMinimum(MIN_LOAN_FEN)
    if amount_fen % LOAN_STEP_FEN:
        raise AmountNotInSteps(LOAN_STEP_FEN)
    if amount_fen > available_fen:
        raise AmountAboveAvailable(max(available_fen, 0))
    if amount_fen > MAX_LOAN_FEN:
        raise AmountAboveLoanMaximum(MAX_LOAN_FEN)


def validate_purpose(purpose: str) -> str:
    """Return the purpose stripped; raise InvalidPurpose if it is empty or too long."""
    cleaned = purpose.strip()
    if not cleaned or len(cleaned) > PURPOSE_MAX_CHARS:
        raise InvalidPurpose()
    return cleaned


def validate_credit(total_fen: Fen, daily_rate_pcm: RatePcm) -> None:
    """Raise ValueError unless a credit limit and rate are within the product's bounds."""
    if not MIN_CREDIT_LIMIT_FEN <= total_fen <= MAX_CREDIT_LIMIT_FEN:
        raise ValueError(f"credit limit {total_fen} fen outside the product's bounds")
    if not MIN_DAILY_RATE_PCM <= daily_rate_pcm <= MAX_DAILY_RATE_PCM:
        raise ValueError(f"daily rate {daily_rate_pcm} pcm outside the product's bounds")


@dataclass(frozen=True)
class OpenInstalment:
    """An unpaid instalment as stored: its number, due date and (possibly rescheduled) principal."""

    number: int
    due_date: date
    principal_fen: Fen


def owed_instalments(
    unpaid: Sequence[OpenInstalment], interest_from: date, daily_rate_pcm: RatePcm, on_date: date
) -> list[Instalment]:
    """What each unpaid instalment costs as of `on_date`, in due-date order.

    Args:
        unpaid: The unpaid instalments in due-date order.
        interest_from: The day up to which interest on the unpaid principal is settled (the loan day, the
            last paid due date, or the day of the last early repayment).
        daily_rate_pcm: The loan's daily rate.
        on_date: The day to price the penalty and statuses for.

    Returns:
        The instalments with interest (on the principal of this and all later unpaid instalments for the
        days since the previous boundary) and penalty (for overdue days up to `on_date`).
    """
    remaining = sum(item.principal_fen for item in unpaid)
    start = interest_from
    owed: list[Instalment] = []
    for item in unpaid:
        overdue_days = (on_date - item.due_date).days
        status = (
            InstalmentStatus.OVERDUE
            if overdue_days > 0
            else InstalmentStatus.DUE
            if overdue_days == 0
            else InstalmentStatus.PENDING
        )
        owed.append(
            Instalment(
                number=item.number,
                due_date=item.due_date,
                principal_fen=item.principal_fen,
                interest_fen=interest_fen(remaining, daily_rate_pcm, (item.due_date - start).days),
                penalty_fen=penalty_fen(item.principal_fen, daily_rate_pcm, overdue_days),
                status=status,
            )
        )
        remaining -= item.principal_fen
        start = item.due_date
    return owed


def build_schedule(principal_fen: Fen, term: int, daily_rate_pcm: RatePcm, loan_date: date) -> list[Instalment]:
    """The 等额本金 schedule of a new loan, all instalments pending."""
    validate_term(term)
    unpaid = [
        OpenInstalment(number, due_date(loan_date, number), share)
        for number, share in enumerate(split_principal(principal_fen, term), start=1)
    ]
    return owed_instalments(unpaid, loan_date, daily_rate_pcm, loan_date)


@dataclass(frozen=True)
class InstalmentPayment:
    """What one instalment receives from a repayment that pays it off."""

    number: int
    principal_fen: Fen
    interest_fen: Fen
    penalty_fen: Fen


@dataclass(frozen=True)
class RepaymentPlan:
    """What a repayment pays and how it changes the loan.

    Attributes:
        kind: Instalment, early partial or early full.
        principal_fen: Principal paid.
        interest_fen: Interest paid (of instalments paid off, plus interest to date on an early repayment).
        penalty_fen: Penalty interest paid.
        paid: The instalments this repayment pays off.
        rescheduled: New principal of each instalment still unpaid, after a partial early repayment.
        interest_from: The loan's new `interest_from`.
        closes_loan: Whether nothing is owed afterwards.
    """

    kind: RepaymentKind
    principal_fen: Fen
    interest_fen: Fen
    penalty_fen: Fen
    paid: tuple[InstalmentPayment, ...]
    rescheduled: tuple[tuple[int, Fen], ...]
    interest_from: date
    closes_loan: bool

    @property
    def total_fen(self) -> Fen:
        """Principal + interest + penalty."""
        return self.principal_fen + self.interest_fen + self.penalty_fen


@dataclass(frozen=True)
class _Position:
    """A loan's unpaid instalments split at a day into those due by then and those ahead."""

    due: list[Instalment]
    ahead: list[Instalment]
    ahead_principal_fen: Fen
    accrued_fen: Fen  # interest to the day on the principal ahead, since the last settled boundary
    interest_from: date  # where the accrual ahead started

    @property
    def due_fen(self) -> Fen:
        return sum(item.total_fen for item in self.due)

    @property
    def payoff_fen(self) -> Fen:
        return self.due_fen + self.accrued_fen + self.ahead_principal_fen


def _position(
    unpaid: Sequence[OpenInstalment], interest_from: date, daily_rate_pcm: RatePcm, on_date: date
) -> _Position:
    if not unpaid:
        raise NothingToRepay()
    owed = owed_instalments(unpaid, interest_from, daily_rate_pcm, on_date)
    due = [item for item in owed if item.due_date <= on_date]
    ahead = owed[len(due) :]
    start = due[-1].due_date if due else interest_from
    principal = sum(item.principal_fen for item in ahead)
    accrued = interest_fen(principal, daily_rate_pcm, (on_date - start).days)
    return _Position(due, ahead, principal, accrued, start)


def _pay(item: Instalment, interest: Fen | None = None) -> InstalmentPayment:
    chosen = item.interest_fen if interest is None else interest
    return InstalmentPayment(item.number, item.principal_fen, chosen, item.penalty_fen)


def _plan(
    kind: RepaymentKind,
    paid: list[InstalmentPayment],
    interest_from: date,
    *,
    closes: bool,
    early_principal_fen: Fen = 0,
    early_interest_fen: Fen = 0,
    rescheduled: tuple[tuple[int, Fen], ...] = (),
) -> RepaymentPlan:
    return RepaymentPlan(
        kind=kind,
        principal_fen=sum(p.principal_fen for p in paid) + early_principal_fen,
        interest_fen=sum(p.interest_fen for p in paid) + early_interest_fen,
        penalty_fen=sum(p.penalty_fen for p in paid),
        paid=tuple(paid),
        rescheduled=rescheduled,
        interest_from=interest_from,
        closes_loan=closes,
    )


def payoff_quote(
    unpaid: Sequence[OpenInstalment], interest_from: date, daily_rate_pcm: RatePcm, on_date: date
) -> RepaymentPlan:
    """Paying the whole loan off on `on_date`: due instalments in full, interest to date on the rest.

    Raises:
        NothingToRepay: Nothing is unpaid.
    """
    pos = _position(unpaid, interest_from, daily_rate_pcm, on_date)
    paid = [_pay(item) for item in pos.due]
    if pos.ahead:
        paid.append(_pay(pos.ahead[0], interest=pos.accrued_fen))
        paid.extend(_pay(item, interest=0) for item in pos.ahead[1:])
    if not pos.ahead:  # only what is already due: an ordinary instalment repayment
        return _plan(RepaymentKind.INSTALMENT, paid, pos.interest_from, closes=True)
    return _plan(RepaymentKind.EARLY_FULL, paid, on_date, closes=True)


def plan_repayment(
    unpaid: Sequence[OpenInstalment],
    interest_from: date,
    daily_rate_pcm: RatePcm,
    on_date: date,
    amount_fen: Fen | None,
    *,
    full_when_no_amount: bool = False,
) -> RepaymentPlan:
    """Decide what a repayment on `on_date` pays.

    Args:
        unpaid: The loan's unpaid instalments in due-date order.
        interest_from: The loan's settled-interest boundary.
        daily_rate_pcm: The loan's daily rate.
        on_date: The repayment day (not before `interest_from`).
        amount_fen: None to pay the current instalment(s) (or everything, see below); else the total to pay:
            what is due first, then interest to date, then principal early.
        full_when_no_amount: With no amount, pay the loan off instead of the current instalment(s).

    Raises:
        NothingToRepay: Nothing is unpaid.
        AmountBelowDue: The amount does not cover what is due (plus interest to date and 1 fen of principal
            when it goes beyond what is due); carries the minimum.
        AmountAboveOwed: The amount is more than paying the loan off costs; carries that cost.
    """
    pos = _position(unpaid, interest_from, daily_rate_pcm, on_date)
    if amount_fen is None and full_when_no_amount:
        return payoff_quote(unpaid, interest_from, daily_rate_pcm, on_date)
    if amount_fen is None:
        if pos.due:
            return _pay_due(pos)
        first = pos.ahead[0]
        paid = [_pay(first, interest=pos.accrued_fen)]
        return _plan(RepaymentKind.INSTALMENT, paid, on_date, closes=len(pos.ahead) == 1)
    minimum = pos.due_fen if pos.due else pos.accrued_fen + 1
    if amount_fen < minimum:
        raise AmountBelowDue(minimum)
    if amount_fen > pos.payoff_fen:
        raise AmountAboveOwed(pos.payoff_fen)
    if amount_fen == pos.payoff_fen:
        return payoff_quote(unpaid, interest_from, daily_rate_pcm, on_date)
    early = amount_fen - pos.due_fen
    if early == 0:
        return _pay_due(pos)
    if early <= pos.accrued_fen:
        raise AmountBelowDue(pos.due_fen + pos.accrued_fen + 1)
    principal_early = early - pos.accrued_fen
    shares = split_principal(pos.ahead_principal_fen - principal_early, len(pos.ahead))
    rescheduled = tuple((item.number, share) for item, share in zip(pos.ahead, shares, strict=True))
    return _plan(
        RepaymentKind.EARLY_PARTIAL,
        [_pay(item) for item in pos.due],
        on_date,
        closes=False,
        early_principal_fen=principal_early,
        early_interest_fen=pos.accrued_fen,
        rescheduled=rescheduled,
    )


def _pay_due(pos: _Position) -> RepaymentPlan:
    paid = [_pay(item) for item in pos.due]
    return _plan(RepaymentKind.INSTALMENT, paid, pos.due[-1].due_date, closes=not pos.ahead)
