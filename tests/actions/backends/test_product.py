"""Unit tests of the product rules and money maths (actions/backends/product.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from actions.backends import product
from actions.backends.base import CreditLimit, InstalmentStatus, RepaymentKind
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
from actions.backends.product import OpenInstalment

LOAN_DAY = date(2025, 2, 3)


def _unpaid(principal: int = 1_000_000, term: int = 10, loan_day: date = LOAN_DAY) -> list[OpenInstalment]:
    return [
        OpenInstalment(item.number, item.due_date, item.principal_fen)
        for item in product.build_schedule(principal, term, 30, loan_day)
    ]


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(4, 10, 0), (5, 10, 1), (15, 10, 2), (14, 10, 1), (0, 7, 0), (100_000, 100_000, 1)],
)
def test_round_half_up_halves_round_up(numerator: int, denominator: int, expected: int) -> None:
    assert product.round_half_up(numerator, denominator) == expected


def test_round_half_up_negative_numerator_raises() -> None:
    with pytest.raises(ValueError):
        product.round_half_up(-1, 10)


def test_interest_fen_28_days_at_003_percent_is_exact() -> None:
    assert product.interest_fen(1_000_000, 30, 28) == 8_400  # 10,000 元 x 0.03 % x 28 days = 84 元


def test_interest_fen_half_fen_rounds_up() -> None:
    assert product.interest_fen(5, 30, 3) == 0  # 0.0045 fen
    assert product.interest_fen(50_000, 45, 1) == 23  # 22.5 fen -> 23


def test_penalty_fen_is_one_and_a_half_times_the_daily_rate() -> None:
    assert product.penalty_fen(100_000, 45, 15) == 1_013  # 1000 元 x 0.045 % x 1.5 x 15 = 10.125 元 -> 1012.5 fen
    assert product.penalty_fen(100_000, 40, 10) == 600
    assert product.penalty_fen(100_000, 40, 0) == 0


@pytest.mark.parametrize(
    ("loan_day", "number", "expected"),
    [
        (date(2025, 1, 15), 1, date(2025, 2, 15)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2025, 1, 31), 2, date(2025, 3, 28)),  # day 29-31 is day 28 in every month
        (date(2024, 1, 29), 1, date(2024, 2, 28)),  # not the 29th even in a leap year
        (date(2025, 11, 10), 2, date(2026, 1, 10)),
        (date(2025, 12, 28), 20, date(2027, 8, 28)),
    ],
)
def test_due_date_same_day_next_months_late_days_become_28(loan_day: date, number: int, expected: date) -> None:
    assert product.due_date(loan_day, number) == expected


def test_split_principal_last_part_takes_remainder() -> None:
    assert product.split_principal(100, 3) == [33, 33, 34]
    assert product.split_principal(1_000_009, 10) == [100_000] * 9 + [100_009]
    assert product.split_principal(0, 5) == [0] * 5


@pytest.mark.parametrize(
    ("available", "expected"),
    [(4_123_456, 4_000_000), (1_234_567, 1_230_000), (50_000, 50_000), (49_999, 0), (0, 0), (-5, 0)],
)
def test_max_loan_fen_caps_at_40000_yuan_in_steps(available: int, expected: int) -> None:
    assert product.max_loan_fen(available) == expected


@pytest.mark.parametrize(
    ("amount", "available", "error", "attribute", "value"),
    [
        (49_900, 5_000_000, AmountBelowMinimum, "minimum_fen", 50_000),
        (50_050, 5_000_000, AmountNotInSteps, "step_fen", 10_000),
        (65_000, 5_000_000, AmountNotInSteps, "step_fen", 10_000),
        (1_000_000, 900_000, AmountAboveAvailable, "available_fen", 900_000),
        (4_010_000, 5_000_000, AmountAboveLoanMaximum, "maximum_fen", 4_000_000),
        (4_010_000, 4_005_000, AmountAboveAvailable, "available_fen", 4_005_000),
    ],
)
def test_validate_loan_amount_bad_amount_raises_with_the_limit(
    amount: int, available: int, error: type[Exception], attribute: str, value: int
) -> None:
    with pytest.raises(error) as raised:
        product.validate_loan_amount(amount, available)
    assert getattr(raised.value, attribute) == value


@pytest.mark.parametrize("amount", [50_000, 60_000, 1_230_000, 4_000_000])
def test_validate_loan_amount_whole_hundreds_within_limits_pass(amount: int) -> None:
    product.validate_loan_amount(amount, 5_000_000)


@pytest.mark.parametrize("term", [0, 1, 6, 12, 24, -5])
def test_validate_term_other_than_5_10_20_raises(term: int) -> None:
    with pytest.raises(InvalidTerm) as raised:
        product.validate_term(term)
    assert raised.value.terms == (5, 10, 20)


@pytest.mark.parametrize("purpose", ["", "   ", "装" * 51])
def test_validate_purpose_empty_or_long_raises(purpose: str) -> None:
    with pytest.raises(InvalidPurpose):
        product.validate_purpose(purpose)


def test_validate_credit_outside_bounds_raises() -> None:
    product.validate_credit(50_000, 20)
    product.validate_credit(20_000_000, 50)
    for total, rate in [(49_999, 30), (20_000_001, 30), (5_000_000, 19), (5_000_000, 51)]:
        with pytest.raises(ValueError):
            product.validate_credit(total, rate)


@pytest.mark.parametrize(
    ("pcm", "daily", "annual"), [(20, "0.02", "7.3"), (50, "0.05", "18.25"), (45, "0.045", "16.425")]
)
def test_credit_limit_rates_are_exact_decimals(pcm: int, daily: str, annual: str) -> None:
    credit = CreditLimit(total_fen=5_000_000, available_fen=5_000_000, max_loan_fen=4_000_000, daily_rate_pcm=pcm)
    assert credit.daily_rate_percent == Decimal(daily)
    assert credit.annual_rate_percent == Decimal(annual)


def test_build_schedule_10000_yuan_10_terms_matches_hand_calculation() -> None:
    schedule = product.build_schedule(1_000_000, 10, 30, LOAN_DAY)
    assert [item.principal_fen for item in schedule] == [100_000] * 10
    assert schedule[0].due_date == date(2025, 3, 3)
    assert schedule[0].interest_fen == 8_400  # 1,000,000 x 0.0003 x 28 days (February)
    assert schedule[1].interest_fen == 8_370  # 900,000 x 0.0003 x 31 days (March)
    assert schedule[9].interest_fen == 900  # 100,000 x 0.0003 x 30 days (November)
    assert all(item.status is InstalmentStatus.PENDING and item.penalty_fen == 0 for item in schedule)


def test_build_schedule_remainder_goes_to_last_instalment() -> None:
    schedule = product.build_schedule(50_000 + 3, 20, 50, LOAN_DAY)
    assert [item.principal_fen for item in schedule] == [2_500] * 19 + [2_503]


def test_owed_instalments_overdue_instalment_accrues_penalty_not_interest() -> None:
    unpaid = _unpaid(500_000, 5, date(2025, 1, 29))
    owed = product.owed_instalments(unpaid, date(2025, 1, 29), 45, date(2025, 3, 15))
    first = owed[0]
    assert first.status is InstalmentStatus.OVERDUE and first.due_date == date(2025, 2, 28)
    assert first.interest_fen == product.interest_fen(500_000, 45, 30)  # fixed at its due date
    assert first.penalty_fen == product.penalty_fen(100_000, 45, 15) == 1_013
    assert owed[1].status is InstalmentStatus.PENDING and owed[1].penalty_fen == 0
    assert owed[1].interest_fen == product.interest_fen(400_000, 45, 28)  # the overdue 1,000 元 excluded


def test_plan_repayment_no_amount_nothing_due_pays_next_instalment_with_interest_to_date() -> None:
    plan = product.plan_repayment(_unpaid(), LOAN_DAY, 30, date(2025, 2, 13), None)
    assert plan.kind is RepaymentKind.INSTALMENT
    assert plan.principal_fen == 100_000
    assert plan.interest_fen == product.interest_fen(1_000_000, 30, 10)
    assert [p.number for p in plan.paid] == [1]
    assert plan.interest_from == date(2025, 2, 13)
    assert not plan.closes_loan


def test_plan_repayment_no_amount_on_due_date_pays_that_instalment() -> None:
    plan = product.plan_repayment(_unpaid(), LOAN_DAY, 30, date(2025, 3, 3), None)
    assert (plan.principal_fen, plan.interest_fen, plan.penalty_fen) == (100_000, 8_400, 0)
    assert plan.interest_from == date(2025, 3, 3)


def test_plan_repayment_no_amount_two_overdue_pays_both_with_penalty() -> None:
    plan = product.plan_repayment(_unpaid(), LOAN_DAY, 30, date(2025, 4, 10), None)
    assert [p.number for p in plan.paid] == [1, 2]
    assert plan.penalty_fen == product.penalty_fen(100_000, 30, 38) + product.penalty_fen(100_000, 30, 7)
    assert plan.interest_from == date(2025, 4, 3)


def test_plan_repayment_partial_early_spreads_principal_over_later_instalments() -> None:
    on = date(2025, 2, 13)
    accrued = product.interest_fen(1_000_000, 30, 10)
    plan = product.plan_repayment(_unpaid(), LOAN_DAY, 30, on, accrued + 300_003)
    assert plan.kind is RepaymentKind.EARLY_PARTIAL
    assert (plan.principal_fen, plan.interest_fen, plan.penalty_fen) == (300_003, accrued, 0)
    assert plan.paid == ()
    assert [share for _, share in plan.rescheduled] == [69_999] * 9 + [70_006]
    assert sum(share for _, share in plan.rescheduled) == 1_000_000 - 300_003
    assert plan.interest_from == on


def test_plan_repayment_amount_below_due_raises_with_minimum() -> None:
    on = date(2025, 3, 10)  # instalment 1 overdue 7 days
    due = product.owed_instalments(_unpaid(), LOAN_DAY, 30, on)[0].total_fen
    assert due == 100_000 + 8_400 + product.penalty_fen(100_000, 30, 7)
    with pytest.raises(AmountBelowDue) as raised:
        product.plan_repayment(_unpaid(), LOAN_DAY, 30, on, due - 1)
    assert raised.value.minimum_fen == due


def test_plan_repayment_amount_covering_only_interest_to_date_raises() -> None:
    accrued = product.interest_fen(1_000_000, 30, 10)
    with pytest.raises(AmountBelowDue) as raised:
        product.plan_repayment(_unpaid(), LOAN_DAY, 30, date(2025, 2, 13), accrued)
    assert raised.value.minimum_fen == accrued + 1


def test_plan_repayment_amount_above_payoff_is_refused_with_payoff() -> None:
    on = date(2025, 2, 13)
    payoff = product.payoff_quote(_unpaid(), LOAN_DAY, 30, on).total_fen
    assert payoff == 1_000_000 + product.interest_fen(1_000_000, 30, 10)
    with pytest.raises(AmountAboveOwed) as raised:
        product.plan_repayment(_unpaid(), LOAN_DAY, 30, on, payoff + 1)
    assert raised.value.owed_fen == payoff


def test_plan_repayment_amount_equal_to_payoff_closes_loan() -> None:
    on = date(2025, 2, 13)
    payoff = product.payoff_quote(_unpaid(), LOAN_DAY, 30, on).total_fen
    plan = product.plan_repayment(_unpaid(), LOAN_DAY, 30, on, payoff)
    assert plan.kind is RepaymentKind.EARLY_FULL and plan.closes_loan
    assert len(plan.paid) == 10 and plan.principal_fen == 1_000_000


def test_payoff_quote_on_loan_day_is_principal_only() -> None:
    plan = product.payoff_quote(_unpaid(), LOAN_DAY, 30, LOAN_DAY)
    assert (plan.principal_fen, plan.interest_fen, plan.penalty_fen) == (1_000_000, 0, 0)


def test_payoff_quote_nothing_unpaid_raises() -> None:
    with pytest.raises(NothingToRepay):
        product.payoff_quote([], LOAN_DAY, 30, LOAN_DAY)
