"""Loans in the stub: quotes, applications, refusals, schedules and repayments, on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from actions.backends import product
from actions.backends.base import InstalmentStatus, LoanStatus, RepaymentKind
from actions.backends.clock import FakeClock
from actions.backends.exceptions import (
    AccountFrozen,
    AmountAboveAvailable,
    AmountAboveLoanMaximum,
    AmountAboveOwed,
    AmountBelowMinimum,
    AmountNotInSteps,
    CreditNotAssessed,
    CustomerOverdue,
    FaceCheckRequired,
    InsufficientBalance,
    InvalidDate,
    InvalidPurpose,
    InvalidTerm,
    NothingToRepay,
    NotVerified,
    UnknownLoan,
)
from actions.backends.stub import StubBankBackend


async def test_quote_loan_good_customer_previews_schedule(verified_bank: StubBankBackend, clock: FakeClock) -> None:
    quote = await verified_bank.quote_loan("cust-good", 1_200_000, 5)
    assert quote.first_due_date == date(2025, 4, 15)
    assert [item.principal_fen for item in quote.instalments] == [240_000] * 5
    assert quote.instalments == tuple(product.build_schedule(1_200_000, 5, 30, clock.today()))
    assert quote.total_repayment_fen == 1_200_000 + quote.total_interest_fen
    assert quote.total_interest_fen == sum(item.interest_fen for item in quote.instalments)


@pytest.mark.parametrize(
    ("amount", "term", "error"),
    [
        (49_900, 5, AmountBelowMinimum),
        (1_234_500, 5, AmountNotInSteps),
        (4_100_000, 10, AmountAboveLoanMaximum),
        (100_000, 12, InvalidTerm),
    ],
)
async def test_quote_loan_breaking_product_rules_raises(
    verified_bank: StubBankBackend, amount: int, term: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await verified_bank.quote_loan("cust-good", amount, term)


async def test_apply_loan_above_available_raises_with_available(verified_bank: StubBankBackend) -> None:
    await verified_bank.apply_loan("cust-good", 4_000_000, 10, "装修", "first")
    with pytest.raises(AmountAboveAvailable) as raised:
        await verified_bank.apply_loan("cust-good", 200_000, 10, "消费", "second")
    assert raised.value.available_fen == 5_000_000 - 900_000 - 4_000_000


async def test_apply_loan_good_customer_disburses_to_default_card(verified_bank: StubBankBackend) -> None:
    loan = await verified_bank.apply_loan("cust-good", 800_000, 10, "  旅游  ", "apply-1")
    assert (loan.principal_fen, loan.term, loan.daily_rate_pcm, loan.purpose) == (800_000, 10, 30, "旅游")
    assert loan.status is LoanStatus.ACTIVE and loan.next_due_date == date(2025, 4, 15)
    default = (await verified_bank.cards("cust-good"))[0]
    assert default.is_default and loan.disbursed_to_card_last4 == default.card_last4
    (latest, *_) = await verified_bank.transactions("cust-good", limit=1)
    assert latest.amount_fen == 800_000 and latest.balance_after_fen is None and latest.memo == loan.id
    assert (await verified_bank.credit_limit("cust-good")).available_fen == 5_000_000 - 900_000 - 800_000
    assert [item.id for item in await verified_bank.list_loans("cust-good")] == [loan.id, "loan-good-1"]


async def test_apply_loan_frozen_account_raises_account_frozen(verified_bank: StubBankBackend) -> None:
    with pytest.raises(AccountFrozen):
        await verified_bank.apply_loan("cust-frozen", 100_000, 5, "消费", "k")
    with pytest.raises(AccountFrozen):
        await verified_bank.quote_loan("cust-frozen", 100_000, 5)


async def test_apply_loan_overdue_customer_raises_customer_overdue(verified_bank: StubBankBackend) -> None:
    with pytest.raises(CustomerOverdue):
        await verified_bank.apply_loan("cust-overdue", 100_000, 5, "消费", "k")


async def test_apply_loan_new_customer_raises_credit_not_assessed(verified_bank: StubBankBackend) -> None:
    with pytest.raises(CreditNotAssessed):
        await verified_bank.apply_loan("cust-new", 100_000, 5, "消费", "k")


async def test_apply_loan_without_face_check_raises(verified_bank: StubBankBackend) -> None:
    await verified_bank.debug_set_face_check("cust-deaf", passed=False)
    await verified_bank.quote_loan("cust-deaf", 100_000, 5)  # a quote needs no face check
    with pytest.raises(FaceCheckRequired):
        await verified_bank.apply_loan("cust-deaf", 100_000, 5, "消费", "k")


async def test_apply_loan_unverified_raises_not_verified(bank: StubBankBackend) -> None:
    with pytest.raises(NotVerified):
        await bank.apply_loan("cust-good", 100_000, 5, "消费", "k")


async def test_apply_loan_empty_purpose_raises(verified_bank: StubBankBackend) -> None:
    with pytest.raises(InvalidPurpose):
        await verified_bank.apply_loan("cust-good", 100_000, 5, " ", "k")


async def test_frozen_customer_unfrozen_can_borrow(verified_bank: StubBankBackend) -> None:
    await verified_bank.debug_set_frozen("cust-frozen", frozen=False)
    loan = await verified_bank.apply_loan("cust-frozen", 100_000, 5, "消费", "k")
    assert loan.customer_id == "cust-frozen"


async def test_repayment_schedule_other_customers_loan_raises_unknown_loan(verified_bank: StubBankBackend) -> None:
    with pytest.raises(UnknownLoan):
        await verified_bank.repayment_schedule("cust-deaf", "loan-good-1")


async def test_repayment_schedule_seeded_loan_first_paid_rest_pending(verified_bank: StubBankBackend) -> None:
    schedule = await verified_bank.repayment_schedule("cust-good", "loan-good-1")
    assert [item.status for item in schedule] == [InstalmentStatus.PAID] + [InstalmentStatus.PENDING] * 9
    assert schedule[0].paid_on == schedule[0].due_date == date(2025, 3, 3)
    assert sum(item.principal_fen for item in schedule) == 1_000_000


async def test_repay_no_amount_pays_next_instalment_ahead(verified_bank: StubBankBackend) -> None:
    before = await verified_bank.balance("cust-good")
    repayment = await verified_bank.repay("cust-good", "loan-good-1", "r-1")
    assert repayment.kind is RepaymentKind.INSTALMENT
    assert repayment.principal_fen == 100_000
    assert repayment.interest_fen == product.interest_fen(900_000, 30, 12)  # 3-03 to 3-15
    assert repayment.outstanding_principal_fen == 800_000
    assert await verified_bank.balance("cust-good") == before - repayment.amount_fen
    schedule = await verified_bank.repayment_schedule("cust-good", "loan-good-1")
    assert schedule[1].status is InstalmentStatus.PAID and schedule[1].paid_on == date(2025, 3, 15)
    assert schedule[2].interest_fen == product.interest_fen(800_000, 30, (date(2025, 5, 3) - date(2025, 3, 15)).days)


async def test_repay_overdue_clears_penalty_and_lifts_overdue(verified_bank: StubBankBackend) -> None:
    schedule = await verified_bank.repayment_schedule("cust-overdue", "loan-overdue-1")
    owed = schedule[0].total_fen
    with pytest.raises(InsufficientBalance) as raised:
        await verified_bank.repay("cust-overdue", "loan-overdue-1", "r-1")
    assert raised.value.balance_fen == 30_000
    await verified_bank.debug_deposit("cust-overdue", 200_000)
    repayment = await verified_bank.repay("cust-overdue", "loan-overdue-1", "r-2")
    assert repayment.amount_fen == owed and repayment.penalty_fen == schedule[0].penalty_fen > 0
    assert repayment.loan_status is LoanStatus.ACTIVE
    assert (await verified_bank.get_customer("cust-overdue")).status.value == "normal"
    assert (await verified_bank.quote_loan("cust-overdue", 100_000, 5)).amount_fen == 100_000


async def test_repay_penalty_grows_each_overdue_day(verified_bank: StubBankBackend, clock: FakeClock) -> None:
    first = (await verified_bank.repayment_schedule("cust-overdue", "loan-overdue-1"))[0]
    clock.advance(timedelta(days=1))
    await verified_bank.debug_mark_verified("cust-overdue")
    later = (await verified_bank.repayment_schedule("cust-overdue", "loan-overdue-1"))[0]
    assert first.penalty_fen == product.penalty_fen(100_000, 45, 15) == 1_013  # 1012.5 fen rounded once
    assert later.penalty_fen == product.penalty_fen(100_000, 45, 16) == 1_080  # not 1013 + 68: no daily rounding


async def test_repay_good_customer_becomes_overdue_after_missed_due_date(
    verified_bank: StubBankBackend, clock: FakeClock
) -> None:
    clock.advance(timedelta(days=20))  # 2025-04-04: instalment 2 (due 04-03) missed
    assert (await verified_bank.get_customer("cust-good")).status.value == "overdue"
    await verified_bank.debug_mark_verified("cust-good")
    with pytest.raises(CustomerOverdue):
        await verified_bank.quote_loan("cust-good", 100_000, 5)


async def test_repay_more_than_owed_is_refused_not_capped(verified_bank: StubBankBackend) -> None:
    quote = await verified_bank.early_repayment_quote("cust-good", "loan-good-1")
    with pytest.raises(AmountAboveOwed) as raised:
        await verified_bank.repay("cust-good", "loan-good-1", "r-1", amount_fen=quote.total_fen + 1)
    assert raised.value.owed_fen == quote.total_fen
    assert await verified_bank.balance("cust-good") == 1_288_800


async def test_early_repayment_quote_is_principal_plus_interest_to_date(verified_bank: StubBankBackend) -> None:
    quote = await verified_bank.early_repayment_quote("cust-good", "loan-good-1")
    assert quote.on_date == date(2025, 3, 15)
    assert quote.principal_fen == 900_000
    assert quote.interest_fen == product.interest_fen(900_000, 30, 12)
    assert quote.penalty_fen == 0 and quote.total_fen == 900_000 + quote.interest_fen
    schedule = await verified_bank.repayment_schedule("cust-good", "loan-good-1")
    assert quote.scheduled_total_fen == sum(item.total_fen for item in schedule[1:])
    assert quote.interest_saved_fen == quote.scheduled_total_fen - quote.total_fen > 0


async def test_early_repayment_quote_future_date_counts_more_days(verified_bank: StubBankBackend) -> None:
    later = await verified_bank.early_repayment_quote("cust-good", "loan-good-1", date(2025, 3, 25))
    assert later.interest_fen == product.interest_fen(900_000, 30, 22)


async def test_early_repayment_quote_past_date_raises(verified_bank: StubBankBackend) -> None:
    with pytest.raises(InvalidDate):
        await verified_bank.early_repayment_quote("cust-good", "loan-good-1", date(2025, 3, 14))


async def test_early_repay_full_closes_loan_and_restores_limit(verified_bank: StubBankBackend) -> None:
    quote = await verified_bank.early_repayment_quote("cust-good", "loan-good-1")
    repayment = await verified_bank.early_repay("cust-good", "loan-good-1", "e-1")
    assert repayment.kind is RepaymentKind.EARLY_FULL and repayment.amount_fen == quote.total_fen
    assert repayment.loan_status is LoanStatus.PAID_OFF and repayment.outstanding_principal_fen == 0
    assert await verified_bank.list_loans("cust-good") == []
    (closed,) = await verified_bank.list_loans("cust-good", include_paid_off=True)
    assert closed.status is LoanStatus.PAID_OFF and closed.next_due_date is None
    assert (await verified_bank.credit_limit("cust-good")).available_fen == 5_000_000
    with pytest.raises(NothingToRepay):
        await verified_bank.repay("cust-good", "loan-good-1", "e-2")


async def test_early_repay_partial_shrinks_later_instalments(verified_bank: StubBankBackend) -> None:
    interest = product.interest_fen(900_000, 30, 12)
    repayment = await verified_bank.early_repay("cust-good", "loan-good-1", "e-1", amount_fen=interest + 450_000)
    assert repayment.kind is RepaymentKind.EARLY_PARTIAL
    assert (repayment.principal_fen, repayment.interest_fen) == (450_000, interest)
    schedule = await verified_bank.repayment_schedule("cust-good", "loan-good-1")
    assert [item.principal_fen for item in schedule[1:]] == [50_000] * 9
    assert schedule[1].status is InstalmentStatus.PENDING
    assert schedule[1].interest_fen == product.interest_fen(450_000, 30, (date(2025, 4, 3) - date(2025, 3, 15)).days)


async def test_repay_every_instalment_on_due_date_pays_quoted_schedule(
    verified_bank: StubBankBackend, clock: FakeClock
) -> None:
    quote = await verified_bank.quote_loan("cust-deaf", 1_000_000, 5)
    loan = await verified_bank.apply_loan("cust-deaf", 1_000_000, 5, "学习", "a")
    paid = 0
    for index, item in enumerate(quote.instalments):
        clock.set(clock.now().replace(year=item.due_date.year, month=item.due_date.month, day=item.due_date.day))
        await verified_bank.debug_mark_verified("cust-deaf")
        repayment = await verified_bank.repay("cust-deaf", loan.id, f"r-{index}")
        assert (repayment.principal_fen, repayment.interest_fen, repayment.penalty_fen) == (
            item.principal_fen,
            item.interest_fen,
            0,
        )
        paid += repayment.amount_fen
    assert paid == quote.total_repayment_fen
    assert repayment.loan_status is LoanStatus.PAID_OFF
