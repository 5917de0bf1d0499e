"""Repaying a loan (`repay_form`), for both 还款 (repay_loan) and 提前还款 (early_repayment).

``repay_form`` asks which loan (skipped when there is one), all or part, how much (only for part), then
confirms. ``repay_kind`` says what "all" means: ``due`` pays what is due now (or the next instalment ahead of
time when nothing is due); ``early`` pays the loan off, quoting the interest to date first. The write carries
an idempotency key stable for the form run, so a retried confirmation never repays twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backends
from actions.backends.base import BankBackend, InstalmentStatus, LoanStatus
from actions.backends.exceptions import AmountAboveOwed, AmountBelowDue, NothingToRepay
from actions.common import (
    PENDING_REQUEST_SLOT,
    BankFormAskAction,
    BankFormValidationAction,
    ConfirmedFormSubmission,
    customer_id,
)
from actions.formatting import day, to_fen, yuan
from actions.parsing import PARTIAL, parse_choice, parse_scope
from actions.replies import say_error

DUE, EARLY = "due", "early"  # repay_kind
_OWING = (InstalmentStatus.DUE, InstalmentStatus.OVERDUE)


def amount_slot_value(fen: int) -> str:
    """The canonical 元 string kept in ``repay_amount``: 123456 fen -> ``1234.56``."""
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass(frozen=True)
class FullRepayment:
    """What "all" costs for a loan, as the customer is shown it.

    Attributes:
        response: The response that explains it.
        variables: Its variables.
        amount_fen: The exact amount, or None when only the bank knows it (the next instalment ahead of time:
            its principal plus interest to the day of payment).
        payoff: Whether paying it closes the loan.
    """

    response: str
    variables: dict[str, Any]
    amount_fen: int | None
    payoff: bool


async def full_repayment(bank: BankBackend, customer: str, loan_id: str, kind: str) -> FullRepayment:
    """What paying "all" means for this loan and kind, from the bank's own figures."""
    if kind == EARLY:
        quote = await bank.early_repayment_quote(customer, loan_id)
        variables: dict[str, Any] = {
            "on_date": day(quote.on_date),
            "total": yuan(quote.total_fen),
            "principal": yuan(quote.principal_fen),
            "interest": yuan(quote.interest_fen),
            "penalty": yuan(quote.penalty_fen),
            "saved": yuan(quote.interest_saved_fen),
        }
        return FullRepayment("utter_repay_early_quote", variables, quote.total_fen, payoff=True)
    schedule = await bank.repayment_schedule(customer, loan_id)
    owing = [item for item in schedule if item.status in _OWING]
    if owing:
        variables = {
            "amount": yuan(sum(item.total_fen for item in owing)),
            "principal": yuan(sum(item.principal_fen for item in owing)),
            "interest": yuan(sum(item.interest_fen for item in owing)),
            "penalty": yuan(sum(item.penalty_fen for item in owing)),
        }
        return FullRepayment("utter_repay_due_now", variables, sum(item.total_fen for item in owing), False)
    upcoming = next((item for item in schedule if item.status is InstalmentStatus.PENDING), None)
    if upcoming is None:
        raise NothingToRepay()
    variables = {
        "number": upcoming.number,
        "due_date": day(upcoming.due_date),
        "principal": yuan(upcoming.principal_fen),
    }
    return FullRepayment("utter_repay_next_instalment", variables, None, payoff=False)


def _loan_id(tracker: Tracker) -> str:
    value = tracker.get_slot("repay_loan_id")
    if not isinstance(value, str):
        raise ValueError("repay_form asked past the loan without a repay_loan_id")
    return value


class ValidateRepayForm(BankFormValidationAction):
    """Picks the loan (and kind) at activation; validates the choice, all-or-part and the amount."""

    retry_intent = "repay_loan"

    def name(self) -> str:
        """The form's validation action."""
        return "validate_repay_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The amount only for a partial repayment."""
        partial = tracker.get_slot("repay_scope") == PARTIAL
        return [slot for slot in domain_slots if slot != "repay_amount" or partial]

    async def start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, bank: BankBackend, customer: str
    ) -> list[EventType] | None:
        """No loans: say so and stop. One loan: choose it. An amount said up front means "part"."""
        loans = await bank.list_loans(customer)
        if not loans:
            dispatcher.utter_message(response="utter_no_active_loans")
            return None
        kind = EARLY if tracker.get_slot(PENDING_REQUEST_SLOT) == "early_repayment" else DUE
        events: list[EventType] = [SlotSet("repay_kind", kind)]
        if len(loans) == 1:
            events.append(SlotSet("repay_loan_id", loans[0].id))
        if tracker.get_slot("repay_amount") is not None and tracker.get_slot("repay_scope") is None:
            events.append(SlotSet("repay_scope", PARTIAL))
        return events

    async def validate_repay_loan_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A loan id or a position in the list `action_ask_repay_loan_id` showed."""
        customer = customer_id(tracker)
        assert customer is not None  # run() refuses anonymous customers before validating
        loans = await backends.get_backend().list_loans(customer)
        ids = [loan.id for loan in loans]
        position = parse_choice(value, len(ids))
        chosen = value if value in ids else ids[position - 1] if position else None
        if chosen is None:
            dispatcher.utter_message(response="utter_repay_loan_choice_invalid")
            return {"repay_loan_id": None}
        slots: dict[str, Any] = {"repay_loan_id": chosen}
        amount = tracker.get_slot("repay_amount")
        if amount is not None and "repay_amount" not in tracker.slots_to_validate():
            # An amount said before the loan was chosen is checked against the chosen loan now.
            tracker.slots["repay_loan_id"] = chosen
            slots.update(await self.validate_repay_amount(amount, dispatcher, tracker, domain))
        return slots

    async def validate_repay_scope(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """All or part; naming an amount means part."""
        scope = parse_scope(value)
        if scope is None and tracker.get_slot("repay_amount") is not None:
            scope = PARTIAL
        if scope is None:
            dispatcher.utter_message(response="utter_repay_scope_invalid")
        return {"repay_scope": scope}

    async def validate_repay_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """At least what is due now, at most what paying the loan off costs today."""
        fen = to_fen(value)
        if fen is None:
            dispatcher.utter_message(response="utter_repay_amount_invalid")
            return {"repay_amount": None}
        loan_id = tracker.get_slot("repay_loan_id")
        if loan_id is None:  # checked once the loan is chosen (validate_repay_loan_id)
            return {"repay_amount": amount_slot_value(fen)}
        customer = customer_id(tracker)
        assert customer is not None
        bank = backends.get_backend()
        owed = (await bank.early_repayment_quote(customer, loan_id)).total_fen
        if fen > owed:
            say_error(dispatcher, AmountAboveOwed(owed))
            return {"repay_amount": None}
        due = sum(item.total_fen for item in await bank.repayment_schedule(customer, loan_id) if item.status in _OWING)
        if fen < due:
            say_error(dispatcher, AmountBelowDue(due))
            return {"repay_amount": None}
        return {"repay_amount": amount_slot_value(fen)}


class ActionAskRepayLoanId(BankFormAskAction):
    """Lists the unpaid loans with their positions and asks which one."""

    retry_intent = "repay_loan"

    def name(self) -> str:
        """The form asks for ``repay_loan_id`` with this action."""
        return "action_ask_repay_loan_id"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Utter the list and the question."""
        loans = await bank.list_loans(customer)
        dispatcher.utter_message(response="utter_repay_choose_loan", count=len(loans))
        for position, loan in enumerate(loans, start=1):
            dispatcher.utter_message(
                response="utter_repay_loan_option",
                index=position,
                loan_date=day(loan.loan_date),
                principal=yuan(loan.principal_fen),
                outstanding=yuan(loan.outstanding_principal_fen),
            )
        dispatcher.utter_message(response="utter_repay_loan_question")
        return []


class ActionAskRepayScope(BankFormAskAction):
    """Shows what "all" costs (due now, the next instalment, or the payoff quote) and asks all or part."""

    retry_intent = "repay_loan"

    def name(self) -> str:
        """The form asks for ``repay_scope`` with this action."""
        return "action_ask_repay_scope"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Utter the figures and the question."""
        full = await full_repayment(bank, customer, _loan_id(tracker), tracker.get_slot("repay_kind") or DUE)
        dispatcher.utter_message(response=full.response, **full.variables)
        dispatcher.utter_message(response="utter_repay_scope_question")
        return []


class ActionAskRepayConfirmed(BankFormAskAction):
    """Says how much leaves the account balance (and what the balance is) and asks to confirm."""

    retry_intent = "repay_loan"

    def name(self) -> str:
        """The form asks for ``repay_confirmed`` with this action."""
        return "action_ask_repay_confirmed"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Utter the confirmation question for part, all, or the next instalment ahead of time."""
        balance = yuan(await bank.balance(customer))
        if tracker.get_slot("repay_scope") == PARTIAL:
            fen = to_fen(tracker.get_slot("repay_amount")) or 0
            dispatcher.utter_message(response="utter_repay_confirm", amount=yuan(fen), balance=balance)
            return []
        full = await full_repayment(bank, customer, _loan_id(tracker), tracker.get_slot("repay_kind") or DUE)
        if full.amount_fen is None:
            dispatcher.utter_message(response="utter_repay_confirm_next", balance=balance, **full.variables)
        elif full.payoff:
            dispatcher.utter_message(
                response="utter_repay_confirm_payoff", amount=yuan(full.amount_fen), balance=balance
            )
        else:
            dispatcher.utter_message(response="utter_repay_confirm", amount=yuan(full.amount_fen), balance=balance)
        return []


class ActionSubmitRepayment(ConfirmedFormSubmission):
    """After ``repay_form``: repays if confirmed (once per form run), then clears the form."""

    retry_intent = "repay_loan"
    form_name = "repay_form"
    confirmed_slot = "repay_confirmed"
    not_submitted_response = "utter_repay_not_submitted"

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_submit_repayment"

    async def submit(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, bank: BankBackend, customer: str, key: str
    ) -> None:
        """Repay (or repay early) and tell the split of the amount."""
        amount = to_fen(tracker.get_slot("repay_amount")) if tracker.get_slot("repay_scope") == PARTIAL else None
        pay = bank.early_repay if tracker.get_slot("repay_kind") == EARLY else bank.repay
        repayment = await pay(customer, _loan_id(tracker), key, amount)
        dispatcher.utter_message(
            response="utter_repay_success",
            amount=yuan(repayment.amount_fen),
            principal=yuan(repayment.principal_fen),
            interest=yuan(repayment.interest_fen),
            penalty=yuan(repayment.penalty_fen),
            outstanding=yuan(repayment.outstanding_principal_fen),
        )
        if repayment.loan_status is LoanStatus.PAID_OFF:
            dispatcher.utter_message(response="utter_loan_paid_off")
