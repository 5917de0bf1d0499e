"""The stub's demo customers and customer view (actions/backends/stub.py, stub_seed.py), on both databases."""

from __future__ import annotations

import pytest

from actions.backends.base import CustomerStatus, LoanStatus
from actions.backends.clock import FakeClock
from actions.backends.exceptions import CreditNotAssessed, NotVerified, UnknownCustomer
from actions.backends.stub import StubBankBackend


async def test_stub_first_start_seeds_five_demo_customers(bank: StubBankBackend) -> None:
    good = await bank.get_customer("cust-good")
    assert (good.name, good.phone_masked, good.status) == ("张伟", "138****0001", CustomerStatus.NORMAL)
    assert good.credit_assessed and good.face_verified and not good.verified
    assert (await bank.get_customer("cust-new")).credit_assessed is False
    assert (await bank.get_customer("cust-overdue")).status is CustomerStatus.OVERDUE
    assert (await bank.get_customer("cust-frozen")).status is CustomerStatus.FROZEN
    deaf = await bank.get_customer("cust-deaf")
    assert deaf.prefers_sign_language and deaf.hearing_impaired and deaf.status is CustomerStatus.NORMAL


async def test_stub_unknown_customer_raises(bank: StubBankBackend) -> None:
    with pytest.raises(UnknownCustomer):
        await bank.get_customer("cust-nobody")
    with pytest.raises(UnknownCustomer):
        await bank.send_otp("cust-nobody")


async def test_stub_second_start_keeps_data_and_does_not_reseed(database_url: str, clock: FakeClock) -> None:
    first = StubBankBackend(database_url, clock)
    await first.debug_mark_verified("cust-good")
    await first.debug_deposit("cust-good", 1_000)
    balance = await first.balance("cust-good")
    await first.aclose()
    second = StubBankBackend(database_url, clock)
    assert await second.balance("cust-good") == balance
    assert len(await second.cards("cust-good")) == 2
    await second.aclose()


async def test_stub_good_customer_has_limit_loan_cards_and_balance(verified_bank: StubBankBackend) -> None:
    credit = await verified_bank.credit_limit("cust-good")
    assert (credit.total_fen, credit.daily_rate_pcm) == (5_000_000, 30)
    loans = await verified_bank.list_loans("cust-good")
    assert [loan.id for loan in loans] == ["loan-good-1"]
    assert loans[0].status is LoanStatus.ACTIVE and loans[0].outstanding_principal_fen == 900_000
    assert credit.available_fen == 5_000_000 - 900_000
    assert credit.max_loan_fen == 4_000_000
    assert len(await verified_bank.cards("cust-good")) == 2
    assert await verified_bank.balance("cust-good") == 1_288_800


async def test_stub_new_customer_credit_limit_raises_not_assessed(verified_bank: StubBankBackend) -> None:
    with pytest.raises(CreditNotAssessed):
        await verified_bank.credit_limit("cust-new")


async def test_stub_overdue_customer_loan_is_overdue_with_penalty(verified_bank: StubBankBackend) -> None:
    (loan,) = await verified_bank.list_loans("cust-overdue")
    assert loan.status is LoanStatus.OVERDUE
    first = (await verified_bank.repayment_schedule("cust-overdue", loan.id))[0]
    assert first.penalty_fen > 0


@pytest.mark.parametrize("method", ["credit_limit", "balance", "cards", "list_loans", "transactions"])
async def test_stub_money_reads_without_verification_raise_not_verified(bank: StubBankBackend, method: str) -> None:
    with pytest.raises(NotVerified):
        await getattr(bank, method)("cust-good")


def test_stub_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(ValueError, match="SQLite file"):
        StubBankBackend("sqlite://")
