"""Balance and recent transactions (actions/account.py) on the stub bank."""

from __future__ import annotations

from typing import Any

import pytest

from actions.account import ActionCheckBalance, ActionRecentTransactions
from actions.backends.exceptions import BackendUnavailable
from actions.backends.stub import StubBankBackend
from tests.actions.conftest import DOMAIN, Conversation, run


async def test_balance_verified_shows_the_balance(verified_bank: StubBankBackend) -> None:
    result = await run(ActionCheckBalance(), Conversation().say("我的余额", "check_balance").tracker())

    assert result.responses == ["utter_balance"]
    assert result.variables("utter_balance") == {"balance": "12,888.00"}


@pytest.mark.parametrize(("customer", "verified"), [("cust-good", None), ("cust-good", False), (None, None)])
async def test_balance_unverified_or_anonymous_never_shows_the_balance(
    verified_bank: StubBankBackend, customer: str | None, verified: bool | None
) -> None:
    result = await run(ActionCheckBalance(), Conversation(customer=customer, verified=verified).tracker())

    assert result.responses in (["utter_verify_first"], ["utter_login_required"])
    assert not any("balance" in message for message in result.messages)


async def test_balance_bank_down_apologises(failing_bank: Any) -> None:
    failing_bank(BackendUnavailable("503"))

    result = await run(ActionCheckBalance(), Conversation().tracker())

    assert result.responses == ["utter_error_backend_unavailable"]
    buttons = DOMAIN["responses"]["utter_error_backend_unavailable"][0]["buttons"]
    assert {"title": "转人工客服", "payload": "/request_human"} in buttons


async def test_transactions_default_to_the_last_five(verified_bank: StubBankBackend) -> None:
    result = await run(ActionRecentTransactions(), Conversation().say("最近的交易记录", "transactions").tracker())

    assert result.responses == [
        "utter_transactions_header",
        "utter_transaction_out",
        "utter_transaction_loan_repayment",
        "utter_transaction_in",
        "utter_transaction_loan_disbursement",
        "utter_transaction_in",
    ]
    assert result.variables("utter_transactions_header") == {"count": 5}
    assert result.variables("utter_transaction_loan_repayment") == {
        "when": "2025-03-03 06:00",
        "amount": "1,084.00",
        "balance": "15,916.00",
        "card_last4": "",
    }
    assert result.variables("utter_transaction_loan_disbursement")["card_last4"] == "7894"


async def test_transactions_count_asked_for_is_shown(verified_bank: StubBankBackend) -> None:
    for _ in range(12):
        await verified_bank.debug_deposit("cust-good", 100)

    result = await run(ActionRecentTransactions(), Conversation().say("最近三笔交易", "transactions").tracker())

    assert result.variables("utter_transactions_header") == {"count": 3}
    assert len(result.messages) == 4


async def test_transactions_since_a_date(verified_bank: StubBankBackend) -> None:
    conversation = Conversation().say("3月1号以后的流水", "transactions", date="2025-03-01")

    result = await run(ActionRecentTransactions(), conversation.tracker())

    assert result.variables("utter_transactions_header") == {"count": 2}


async def test_transactions_none_in_the_period(verified_bank: StubBankBackend) -> None:
    conversation = Conversation().say("今天的流水", "transactions", date="2025-03-15")

    result = await run(ActionRecentTransactions(), conversation.tracker())

    assert result.responses == ["utter_no_transactions"]


async def test_transactions_unverified_shows_nothing(bank: StubBankBackend) -> None:
    result = await run(ActionRecentTransactions(), Conversation(verified=None).say("流水", "transactions").tracker())

    assert result.responses == ["utter_verify_first"]
    assert result.variables("utter_verify_first") == {"retry_intent": "transactions"}
