"""Property tests of the money maths (actions/backends/product.py) with hypothesis."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from actions.backends import product
from actions.backends.exceptions import AmountBelowDue
from actions.backends.product import InstalmentPayment, OpenInstalment, RepaymentPlan

principals = st.integers(min_value=1, max_value=product.MAX_CREDIT_LIMIT_FEN)
loan_amounts = st.integers(min_value=5, max_value=400).map(lambda hundreds: hundreds * product.LOAN_STEP_FEN)
terms = st.sampled_from(product.TERMS)
rates = st.integers(min_value=product.MIN_DAILY_RATE_PCM, max_value=product.MAX_DAILY_RATE_PCM)
loan_days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


def _open(principal: int, term: int, rate: int, loan_day: date) -> list[OpenInstalment]:
    return [
        OpenInstalment(item.number, item.due_date, item.principal_fen)
        for item in product.build_schedule(principal, term, rate, loan_day)
    ]


def _apply(unpaid: list[OpenInstalment], plan: RepaymentPlan) -> list[OpenInstalment]:
    """The unpaid instalments after a repayment, as the stub stores them."""
    paid = {payment.number for payment in plan.paid}
    new_principal = dict(plan.rescheduled)
    return [
        OpenInstalment(item.number, item.due_date, new_principal.get(item.number, item.principal_fen))
        for item in unpaid
        if item.number not in paid
    ]


@given(principals, terms, rates, loan_days)
def test_schedule_any_loan_sums_exactly_to_principal_plus_interest(
    principal: int, term: int, rate: int, loan_day: date
) -> None:
    schedule = product.build_schedule(principal, term, rate, loan_day)
    interest = sum(item.interest_fen for item in schedule)
    assert sum(item.principal_fen for item in schedule) == principal
    assert sum(item.total_fen for item in schedule) == principal + interest
    # Rounded once per instalment: never more than half a fen per instalment from the exact amount.
    exact = Fraction(0)
    start, remaining = loan_day, principal
    for item in schedule:
        exact += Fraction(remaining * rate * (item.due_date - start).days, product.PCM)
        start, remaining = item.due_date, remaining - item.principal_fen
    assert abs(interest - exact) <= Fraction(term, 2)


@given(principals, terms, rates, loan_days)
def test_schedule_any_loan_has_no_negative_amounts_and_monthly_due_dates(
    principal: int, term: int, rate: int, loan_day: date
) -> None:
    schedule = product.build_schedule(principal, term, rate, loan_day)
    assert len(schedule) == term
    assert all(item.principal_fen >= 0 and item.interest_fen >= 0 and item.penalty_fen == 0 for item in schedule)
    assert all(item.principal_fen == schedule[0].principal_fen for item in schedule[:-1])
    assert schedule[-1].principal_fen >= schedule[0].principal_fen
    assert all(item.due_date.day == min(loan_day.day, 28) for item in schedule)
    months = [item.due_date.year * 12 + item.due_date.month for item in schedule]
    assert months == list(
        range(loan_day.year * 12 + loan_day.month + 1, loan_day.year * 12 + loan_day.month + term + 1)
    )


@given(loan_amounts, terms, rates, loan_days, st.integers(min_value=0, max_value=19), st.integers(0, 700))
def test_early_payoff_any_day_never_costs_more_than_remaining_schedule(
    principal: int, term: int, rate: int, loan_day: date, paid_on_time: int, days_later: int
) -> None:
    unpaid, interest_from = _open(principal, term, rate, loan_day), loan_day
    for _ in range(min(paid_on_time, term - 1)):  # some instalments repaid on their due dates
        plan = product.plan_repayment(unpaid, interest_from, rate, unpaid[0].due_date, None)
        unpaid, interest_from = _apply(unpaid, plan), plan.interest_from
    on = interest_from + timedelta(days=days_later)
    payoff = product.payoff_quote(unpaid, interest_from, rate, on)
    remaining = product.owed_instalments(unpaid, interest_from, rate, on)
    assert payoff.total_fen <= sum(item.total_fen for item in remaining)
    assert payoff.principal_fen == sum(item.principal_fen for item in unpaid)
    assert payoff.closes_loan


@given(loan_amounts, terms, rates, loan_days, st.integers(0, 400), st.floats(0, 1))
def test_repayment_any_valid_amount_charges_exactly_that_amount_and_keeps_principal(
    principal: int, term: int, rate: int, loan_day: date, days_later: int, share: float
) -> None:
    unpaid = _open(principal, term, rate, loan_day)
    on = loan_day + timedelta(days=days_later)
    due = [item for item in product.owed_instalments(unpaid, loan_day, rate, on) if item.due_date <= on]
    payoff = product.payoff_quote(unpaid, loan_day, rate, on).total_fen
    start = due[-1].due_date if due else loan_day
    ahead = sum(item.principal_fen for item in unpaid[len(due) :])
    minimum = sum(item.total_fen for item in due) or product.interest_fen(ahead, rate, (on - start).days) + 1
    if minimum > payoff:
        return
    amount = minimum + int((payoff - minimum) * share)
    accrued = product.interest_fen(ahead, rate, (on - start).days)
    due_fen = sum(item.total_fen for item in due)
    try:
        plan = product.plan_repayment(unpaid, loan_day, rate, on, amount)
    except AmountBelowDue:  # more than is due but not past interest to date: refused by design
        assert due_fen < amount <= due_fen + accrued
        return
    assert plan.total_fen == amount
    after = _apply(unpaid, plan)
    assert plan.principal_fen + sum(item.principal_fen for item in after) == principal
    assert all(item.principal_fen >= 0 for item in after)
    assert plan.interest_fen >= 0 and plan.penalty_fen >= 0
    assert plan.closes_loan == (not after)


@settings(max_examples=50)
@given(loan_amounts, terms, rates, loan_days, st.lists(st.integers(1, 45), min_size=1, max_size=30))
def test_repayments_random_sequence_closes_loan_with_all_principal_paid(
    principal: int, term: int, rate: int, loan_day: date, gaps: list[int]
) -> None:
    unpaid, interest_from, on, paid_principal = _open(principal, term, rate, loan_day), loan_day, loan_day, 0
    for gap in gaps:
        if not unpaid:
            break
        on += timedelta(days=gap)
        plan = product.plan_repayment(unpaid, interest_from, rate, on, None)
        paid_principal += plan.principal_fen
        unpaid, interest_from = _apply(unpaid, plan), plan.interest_from
    if unpaid:
        final = product.payoff_quote(unpaid, interest_from, rate, on)
        paid_principal += final.principal_fen
    assert paid_principal == principal


@given(loan_amounts, terms, rates, loan_days)
def test_repayments_on_each_due_date_pay_exactly_the_quoted_schedule(
    principal: int, term: int, rate: int, loan_day: date
) -> None:
    quoted = product.build_schedule(principal, term, rate, loan_day)
    unpaid, interest_from = _open(principal, term, rate, loan_day), loan_day
    paid: list[InstalmentPayment] = []
    while unpaid:
        plan = product.plan_repayment(unpaid, interest_from, rate, unpaid[0].due_date, None)
        paid.extend(plan.paid)
        unpaid, interest_from = _apply(unpaid, plan), plan.interest_from
    assert [(p.principal_fen, p.interest_fen, p.penalty_fen) for p in paid] == [
        (item.principal_fen, item.interest_fen, 0) for item in quoted
    ]
