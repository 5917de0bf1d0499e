"""Idempotent and concurrent writes in the stub, on both databases."""

from __future__ import annotations

import asyncio

import pytest

from actions.backends.exceptions import (
    AmountAboveAvailable,
    IdempotencyConflict,
    InsufficientBalance,
    NothingToRepay,
)
from actions.backends.stub import StubBankBackend
from actions.backends.stub_seed import with_check_digit


async def test_apply_loan_retried_with_same_key_returns_the_first_loan(verified_bank: StubBankBackend) -> None:
    first = await verified_bank.apply_loan("cust-good", 500_000, 5, "消费", "apply-1")
    again = await verified_bank.apply_loan("cust-good", 500_000, 5, "消费", "apply-1")
    assert again == first
    assert len(await verified_bank.list_loans("cust-good")) == 2  # the seeded loan and this one
    disbursements = [t for t in await verified_bank.transactions("cust-good") if t.memo == first.id]
    assert len(disbursements) == 1


async def test_apply_loan_same_key_other_parameters_raises_conflict(verified_bank: StubBankBackend) -> None:
    await verified_bank.apply_loan("cust-good", 500_000, 5, "消费", "apply-1")
    for amount, term, purpose in [(600_000, 5, "消费"), (500_000, 10, "消费"), (500_000, 5, "旅游")]:
        with pytest.raises(IdempotencyConflict):
            await verified_bank.apply_loan("cust-good", amount, term, purpose, "apply-1")


async def test_apply_loan_same_key_other_customer_raises_conflict(verified_bank: StubBankBackend) -> None:
    await verified_bank.apply_loan("cust-good", 500_000, 5, "消费", "shared-key")
    with pytest.raises(IdempotencyConflict):
        await verified_bank.apply_loan("cust-deaf", 500_000, 5, "消费", "shared-key")


async def test_apply_loan_retried_after_limit_used_still_returns_first_loan(verified_bank: StubBankBackend) -> None:
    first = await verified_bank.apply_loan("cust-good", 4_000_000, 10, "装修", "apply-1")
    assert await verified_bank.apply_loan("cust-good", 4_000_000, 10, "装修", "apply-1") == first


async def test_apply_loan_failed_attempt_stores_nothing_so_retry_can_succeed(verified_bank: StubBankBackend) -> None:
    await verified_bank.debug_set_face_check("cust-deaf", passed=False)
    with pytest.raises(Exception, match="face"):
        await verified_bank.apply_loan("cust-deaf", 500_000, 5, "消费", "apply-1")
    await verified_bank.debug_set_face_check("cust-deaf", passed=True)
    loan = await verified_bank.apply_loan("cust-deaf", 500_000, 5, "消费", "apply-1")
    assert loan.customer_id == "cust-deaf"


async def test_repay_retried_with_same_key_debits_once(verified_bank: StubBankBackend) -> None:
    before = await verified_bank.balance("cust-good")
    first = await verified_bank.repay("cust-good", "loan-good-1", "repay-1")
    assert await verified_bank.repay("cust-good", "loan-good-1", "repay-1") == first
    assert await verified_bank.balance("cust-good") == before - first.amount_fen
    with pytest.raises(IdempotencyConflict):
        await verified_bank.repay("cust-good", "loan-good-1", "repay-1", amount_fen=first.amount_fen)
    with pytest.raises(IdempotencyConflict):
        await verified_bank.early_repay("cust-good", "loan-good-1", "repay-1")


async def test_bind_card_retried_with_same_key_returns_the_same_card(verified_bank: StubBankBackend) -> None:
    number = with_check_digit("622848123412341")
    card = await verified_bank.bind_card("cust-good", number, "13800000001", "bind-1")
    assert await verified_bank.bind_card("cust-good", number, "13800000001", "bind-1") == card
    assert len(await verified_bank.cards("cust-good")) == 3


async def test_unbind_card_retried_with_same_key_is_a_no_op(verified_bank: StubBankBackend) -> None:
    card = (await verified_bank.cards("cust-good"))[1]
    await verified_bank.unbind_card("cust-good", card.id, "unbind-1")
    await verified_bank.unbind_card("cust-good", card.id, "unbind-1")
    assert len(await verified_bank.cards("cust-good")) == 1


async def test_apply_loan_concurrent_same_key_makes_one_loan(verified_bank: StubBankBackend) -> None:
    results = await asyncio.gather(
        *(verified_bank.apply_loan("cust-good", 500_000, 5, "消费", "same") for _ in range(6))
    )
    assert len({loan.id for loan in results}) == 1
    assert len(await verified_bank.list_loans("cust-good")) == 2


async def test_apply_loan_concurrent_keys_never_exceed_available_limit(verified_bank: StubBankBackend) -> None:
    results = await asyncio.gather(
        *(verified_bank.apply_loan("cust-good", 1_500_000, 5, "消费", f"k-{i}") for i in range(5)),
        return_exceptions=True,
    )
    loans = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(loans) == 2  # 4,100,000 available: two of 1,500,000 fit, a third does not
    assert all(isinstance(error, AmountAboveAvailable) for error in refused)
    assert (await verified_bank.credit_limit("cust-good")).available_fen == 4_100_000 - 3_000_000


async def test_repay_concurrent_keys_never_overdraw_balance(verified_bank: StubBankBackend) -> None:
    schedule = await verified_bank.repayment_schedule("cust-overdue", "loan-overdue-1")
    wanted = schedule[0].total_fen + schedule[1].principal_fen  # a bit less than two instalments
    await verified_bank.debug_deposit("cust-overdue", wanted - await verified_bank.balance("cust-overdue"))
    results = await asyncio.gather(
        *(verified_bank.repay("cust-overdue", "loan-overdue-1", f"r-{i}") for i in range(4)),
        return_exceptions=True,
    )
    paid = [r for r in results if not isinstance(r, BaseException)]
    assert len(paid) == 1  # only the overdue instalment is affordable; the next one costs principal + interest
    assert all(isinstance(r, InsufficientBalance | NothingToRepay) for r in results if isinstance(r, BaseException))
    assert await verified_bank.balance("cust-overdue") == schedule[1].principal_fen
