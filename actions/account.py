"""The account: balance and recent transactions (流水)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends.base import BankBackend, Transaction, TransactionKind
from actions.common import BankAction, entity_value, latest_user_event
from actions.formatting import moment, yuan
from actions.parsing import iso_day, requested_count


def transaction_reply(item: Transaction) -> tuple[str, dict[str, Any]]:
    """The response for one transaction and its variables."""
    variables = {
        "when": moment(item.occurred_at),
        "amount": yuan(abs(item.amount_fen)),
        "balance": yuan(item.balance_after_fen) if item.balance_after_fen is not None else "",
        "card_last4": item.card_last4 or "",
    }
    if item.kind is TransactionKind.LOAN_DISBURSEMENT:
        return "utter_transaction_loan_disbursement", variables
    if item.balance_after_fen is None:  # money moved on a bound card, not the account
        return ("utter_transaction_card_in" if item.amount_fen > 0 else "utter_transaction_card_out"), variables
    if item.kind is TransactionKind.LOAN_REPAYMENT:
        return "utter_transaction_loan_repayment", variables
    return ("utter_transaction_in" if item.amount_fen > 0 else "utter_transaction_out"), variables


class ActionCheckBalance(BankAction):
    """Shows the account balance."""

    retry_intent = "check_balance"

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_check_balance"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Utter ``utter_balance``."""
        dispatcher.utter_message(response="utter_balance", balance=yuan(await bank.balance(customer)))
        return []


class ActionRecentTransactions(BankAction):
    """Lists the last N transactions (N from ``最近十笔``, default 5), or those since the ``date`` entity."""

    retry_intent = "transactions"

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_recent_transactions"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Utter a header and one line per transaction, newest first."""
        request = latest_user_event(tracker, ["transactions"])
        count = requested_count((request or {}).get("text"))
        since = iso_day(entity_value(request, "date"))
        items = await bank.transactions(customer, limit=count, since=since)
        if not items:
            dispatcher.utter_message(response="utter_no_transactions")
            return []
        dispatcher.utter_message(response="utter_transactions_header", count=len(items))
        for item in items:
            response, variables = transaction_reply(item)
            dispatcher.utter_message(response=response, **variables)
        return []
