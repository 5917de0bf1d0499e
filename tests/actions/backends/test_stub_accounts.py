"""Balance, transactions and bound cards in the stub, on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from actions.backends.base import TransactionKind
from actions.backends.clock import FakeClock
from actions.backends.exceptions import (
    AccountFrozen,
    CardAlreadyBound,
    CardLimitReached,
    CardRequired,
    InvalidCard,
    NotVerified,
    UnknownCard,
)
from actions.backends.stub import StubBankBackend
from actions.backends.stub_seed import with_check_digit

DEBIT = with_check_digit("622848123412341")  # 16-digit UnionPay debit number


async def test_transactions_newest_first_with_balances(verified_bank: StubBankBackend) -> None:
    history = await verified_bank.transactions("cust-good", limit=50)
    assert [t.occurred_at for t in history] == sorted((t.occurred_at for t in history), reverse=True)
    assert history[0].balance_after_fen == 1_288_800
    kinds = {t.kind for t in history}
    assert {TransactionKind.DEPOSIT, TransactionKind.LOAN_DISBURSEMENT, TransactionKind.LOAN_REPAYMENT} <= kinds
    account_moves = [t for t in reversed(history) if t.balance_after_fen is not None]
    running = 0
    for move in account_moves:
        running += move.amount_fen
        assert move.balance_after_fen == running  # every balance follows from the amounts


async def test_transactions_limit_and_since_filter(verified_bank: StubBankBackend) -> None:
    assert len(await verified_bank.transactions("cust-good", limit=2)) == 2
    recent = await verified_bank.transactions("cust-good", since=date(2025, 3, 1))
    assert recent and all(t.occurred_at.date() >= date(2025, 3, 1) for t in recent)
    assert len(recent) < len(await verified_bank.transactions("cust-good", limit=50))


async def test_debug_deposit_chinese_memo_and_balance(verified_bank: StubBankBackend) -> None:
    assert await verified_bank.debug_deposit("cust-new", 12_345) == 62_345
    assert await verified_bank.balance("cust-new") == 62_345


async def test_cards_default_first_and_masked(verified_bank: StubBankBackend) -> None:
    cards = await verified_bank.cards("cust-good")
    assert [c.is_default for c in cards] == [True, False]
    assert cards[0].bank_name == "工商银行"
    assert cards[0].masked_number.startswith("6222 **** **** ") and len(cards[0].card_last4) == 4


async def test_bind_card_debit_card_with_reserved_phone_binds(verified_bank: StubBankBackend, clock: FakeClock) -> None:
    card = await verified_bank.bind_card("cust-good", DEBIT, "138-0000-0001", "bind-1")
    assert (card.card_last4, card.is_default, card.bound_at) == (DEBIT[-4:], False, clock.now())
    assert card.bank_name == "农业银行"
    assert card in await verified_bank.cards("cust-good")


async def test_bind_card_first_card_becomes_default(verified_bank: StubBankBackend) -> None:
    only = (await verified_bank.cards("cust-deaf"))[0]
    await verified_bank.unbind_card("cust-deaf", only.id, "unbind-1")
    card = await verified_bank.bind_card("cust-deaf", DEBIT, "13800000005", "bind-1")
    assert card.is_default


@pytest.mark.parametrize(
    ("number", "phone", "reason"),
    [
        ("6228 4812 3412 3410", "13800000001", "malformed"),  # Luhn check fails
        ("1234", "13800000001", "malformed"),
        (with_check_digit("411111111111111"), "13800000001", "credit_card"),
        (DEBIT, "13900000000", "reserved_phone_mismatch"),
    ],
)
async def test_bind_card_invalid_raises_with_reason(
    verified_bank: StubBankBackend, number: str, phone: str, reason: str
) -> None:
    if reason == "malformed":
        assert number.replace(" ", "") != DEBIT
    with pytest.raises(InvalidCard) as raised:
        await verified_bank.bind_card("cust-good", number, phone, "bind-x")
    assert raised.value.reason == reason


async def test_bind_card_already_bound_raises(verified_bank: StubBankBackend) -> None:
    await verified_bank.bind_card("cust-good", DEBIT, "13800000001", "bind-1")
    with pytest.raises(CardAlreadyBound):
        await verified_bank.bind_card("cust-good", f"{DEBIT[:4]} {DEBIT[4:]}", "13800000001", "bind-2")


async def test_bind_card_sixth_card_raises_limit(verified_bank: StubBankBackend) -> None:
    for index in range(3):
        number = with_check_digit(f"62170000000000{index}")
        await verified_bank.bind_card("cust-good", number, "13800000001", f"bind-{index}")
    with pytest.raises(CardLimitReached) as raised:
        await verified_bank.bind_card("cust-good", DEBIT, "13800000001", "bind-6")
    assert raised.value.limit == 5
    assert len(await verified_bank.cards("cust-good")) == 5


async def test_bind_card_frozen_account_raises(verified_bank: StubBankBackend) -> None:
    with pytest.raises(AccountFrozen):
        await verified_bank.bind_card("cust-frozen", DEBIT, "13800000004", "bind-1")
    card = (await verified_bank.cards("cust-frozen"))[0]
    with pytest.raises(AccountFrozen):
        await verified_bank.unbind_card("cust-frozen", card.id, "unbind-1")


async def test_bind_card_unverified_raises(bank: StubBankBackend) -> None:
    with pytest.raises(NotVerified):
        await bank.bind_card("cust-good", DEBIT, "13800000001", "bind-1")


async def test_unbind_card_default_moves_to_next_card(verified_bank: StubBankBackend) -> None:
    first, second = await verified_bank.cards("cust-good")
    await verified_bank.unbind_card("cust-good", first.id, "unbind-1")
    (remaining,) = await verified_bank.cards("cust-good")
    assert remaining.id == second.id and remaining.is_default


async def test_unbind_card_last_card_with_loan_raises_card_required(verified_bank: StubBankBackend) -> None:
    (only,) = await verified_bank.cards("cust-overdue")
    with pytest.raises(CardRequired):
        await verified_bank.unbind_card("cust-overdue", only.id, "unbind-1")


async def test_unbind_card_other_customers_card_raises_unknown(verified_bank: StubBankBackend) -> None:
    (card,) = await verified_bank.cards("cust-deaf")
    with pytest.raises(UnknownCard):
        await verified_bank.unbind_card("cust-good", card.id, "unbind-1")


async def test_verification_expiry_blocks_card_changes(verified_bank: StubBankBackend, clock: FakeClock) -> None:
    clock.advance(timedelta(minutes=31))
    with pytest.raises(NotVerified):
        await verified_bank.bind_card("cust-good", DEBIT, "13800000001", "bind-1")
