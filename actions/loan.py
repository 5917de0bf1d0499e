"""微粒贷: the credit limit, the loan application (`loan_form`) and the repayment schedule.

``loan_form`` asks amount -> term -> purpose -> confirm. At activation it checks what the bank would refuse
anyway (frozen, overdue, no credit, no face recognition, no card, no room under the limit) so the customer
hears it before answering anything. Amounts are checked against the product rules and the available limit as
they come; a purpose is taken from the answer whatever intent the NLU read in it (消费 right after the purpose
question is a purpose, not a transactions request); the confirmation shows the bank's own quote; the loan is
made with an idempotency key stable for the form run, so a retried confirmation never makes a second loan.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backends, parsing
from actions.backends import product
from actions.backends.base import BankBackend, CustomerStatus, Instalment, InstalmentStatus
from actions.backends.exceptions import (
    AccountFrozen,
    CreditNotAssessed,
    CustomerOverdue,
    FaceCheckRequired,
    InvalidTerm,
    LoanRequestInvalid,
    NoCardBound,
)
from actions.common import (
    REQUESTED_SLOT,
    BankAction,
    BankFormAskAction,
    BankFormValidationAction,
    ConfirmedFormSubmission,
    customer_id,
)
from actions.formatting import day, rate_percent, to_fen, yuan
from actions.replies import say_error

SHOWN_INSTALMENTS = 3  # a chat bubble, not a statement: the next few unpaid instalments, the rest in the app


def _loan_amount_fen(tracker: Tracker) -> int:
    fen = to_fen(tracker.get_slot("loan_amount"))
    if fen is None:
        raise ValueError("loan_form is complete without a valid loan_amount")
    return fen


class ActionCheckCreditLimit(BankAction):
    """Shows the credit limit, what is available and the rate."""

    retry_intent = "check_credit_limit"

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_check_credit_limit"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Utter ``utter_credit_limit`` with the bank's figures."""
        credit = await bank.credit_limit(customer)
        daily, annual = rate_percent(credit.daily_rate_pcm)
        dispatcher.utter_message(
            response="utter_credit_limit",
            total=yuan(credit.total_fen),
            available=yuan(credit.available_fen),
            max_loan=yuan(credit.max_loan_fen),
            daily_rate=daily,
            annual_rate=annual,
        )
        return []


class ValidateLoanForm(BankFormValidationAction):
    """Validates amount, term and purpose; checks at activation that the customer can borrow at all."""

    retry_intent = "apply_loan"

    def name(self) -> str:
        """The form's validation action."""
        return "validate_loan_form"

    async def start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, bank: BankBackend, customer: str
    ) -> list[EventType] | None:
        """Raise what the bank would refuse the loan for; say how much the customer may borrow."""
        profile = await bank.get_customer(customer)
        if profile.status is CustomerStatus.FROZEN:
            raise AccountFrozen()
        if profile.status is CustomerStatus.OVERDUE:
            raise CustomerOverdue()
        if not profile.credit_assessed:
            raise CreditNotAssessed()
        if not (await bank.face_check(customer)).passed:
            raise FaceCheckRequired()
        if not await bank.cards(customer):
            raise NoCardBound()
        credit = await bank.credit_limit(customer)
        if credit.max_loan_fen < product.MIN_LOAN_FEN:
            dispatcher.utter_message(response="utter_loan_no_available_limit", available=yuan(credit.available_fen))
            return None
        dispatcher.utter_message(response="utter_loan_start", max_loan=yuan(credit.max_loan_fen))
        return []

    async def validate_loan_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """500 元 or more, in hundreds, within 40,000 元 and the available limit."""
        fen = to_fen(value)
        if fen is None:
            dispatcher.utter_message(response="utter_loan_amount_invalid")
            return {"loan_amount": None}
        customer = customer_id(tracker)
        assert customer is not None  # run() refuses anonymous customers before validating
        credit = await backends.get_backend().credit_limit(customer)
        try:
            product.validate_loan_amount(fen, credit.available_fen)
        except LoanRequestInvalid as error:
            say_error(dispatcher, error)
            return {"loan_amount": None}
        return {"loan_amount": fen // 100}

    async def validate_loan_term(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """5, 10 or 20 monthly instalments."""
        try:
            term = int(str(value).strip())
        except ValueError:
            term = 0
        if term not in product.TERMS:
            say_error(dispatcher, InvalidTerm(product.TERMS))
            return {"loan_term": None}
        return {"loan_term": term}

    async def extract_loan_purpose(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The purpose the customer named when asked for it, whatever intent the NLU read in the answer.

        The slot's ``from_text`` mapping skips the form's ignored intents, and short purposes often look like
        one of them: 消费 reads as a transactions request, 旅游 as chitchat. An answer that is a known purpose
        (`parsing.loan_purpose`) is taken here; any other text with an ignored intent stays an interruption
        (an FAQ, 算了, 转人工, 查交易), answered by its own rule before the form asks again.
        """
        if tracker.get_slot(REQUESTED_SLOT) != "loan_purpose":
            return {}
        purpose = parsing.loan_purpose((tracker.latest_message or {}).get("text"))
        return {"loan_purpose": purpose} if purpose else {}

    async def validate_loan_purpose(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A short phrase, a known purpose under its recorded name; the bank keeps at most 50 characters."""
        text = str(value or "")
        try:
            return {"loan_purpose": product.validate_purpose(parsing.loan_purpose(text) or text)}
        except LoanRequestInvalid as error:
            say_error(dispatcher, error)
            return {"loan_purpose": None}


class ActionAskLoanConfirmed(BankFormAskAction):
    """Shows the bank's quote (first instalment, total interest, the card) and asks to confirm."""

    retry_intent = "apply_loan"

    def name(self) -> str:
        """The form asks for ``loan_confirmed`` with this action."""
        return "action_ask_loan_confirmed"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Utter the quote and the question."""
        quote = await bank.quote_loan(customer, _loan_amount_fen(tracker), int(tracker.get_slot("loan_term")))
        cards = await bank.cards(customer)
        card = next((card for card in cards if card.is_default), None) or cards[0]
        daily, annual = rate_percent(quote.daily_rate_pcm)
        dispatcher.utter_message(
            response="utter_loan_quote",
            amount=yuan(quote.amount_fen),
            term=quote.term,
            purpose=tracker.get_slot("loan_purpose"),
            daily_rate=daily,
            annual_rate=annual,
            first_due_date=day(quote.first_due_date),
            first_payment=yuan(quote.instalments[0].total_fen),
            total_interest=yuan(quote.total_interest_fen),
            bank_name=card.bank_name,
            card_last4=card.card_last4,
        )
        dispatcher.utter_message(response="utter_loan_confirm_question")
        return []


class ActionSubmitLoan(ConfirmedFormSubmission):
    """After ``loan_form``: makes the loan if confirmed (once per form run), then clears the form."""

    retry_intent = "apply_loan"
    form_name = "loan_form"
    confirmed_slot = "loan_confirmed"
    not_submitted_response = "utter_loan_not_submitted"

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_submit_loan"

    async def submit(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, bank: BankBackend, customer: str, key: str
    ) -> None:
        """Apply for the loan and tell where the money went."""
        loan = await bank.apply_loan(
            customer,
            _loan_amount_fen(tracker),
            int(tracker.get_slot("loan_term")),
            str(tracker.get_slot("loan_purpose")),
            idempotency_key=key,
        )
        dispatcher.utter_message(
            response="utter_loan_success",
            amount=yuan(loan.principal_fen),
            term=loan.term,
            card_last4=loan.disbursed_to_card_last4,
            first_due_date=day(loan.next_due_date) if loan.next_due_date else "",
        )


def _instalment_reply(item: Instalment) -> tuple[str, dict[str, Any]]:
    response = {
        InstalmentStatus.OVERDUE: "utter_instalment_overdue",
        InstalmentStatus.DUE: "utter_instalment_due",
    }.get(item.status, "utter_instalment_pending")
    return response, {
        "number": item.number,
        "due_date": day(item.due_date),
        "total": yuan(item.total_fen),
        "principal": yuan(item.principal_fen),
        "interest": yuan(item.interest_fen),
        "penalty": yuan(item.penalty_fen),
    }


class ActionLoanSchedule(BankAction):
    """Shows each unpaid loan and its next instalments; points an overdue customer to repayment."""

    retry_intent = "loan_schedule"

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_loan_schedule"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Utter a summary per loan, then its next `SHOWN_INSTALMENTS` unpaid instalments."""
        loans = await bank.list_loans(customer)
        if not loans:
            dispatcher.utter_message(response="utter_no_active_loans")
            return []
        overdue = False
        for loan in loans:
            unpaid = [
                item
                for item in await bank.repayment_schedule(customer, loan.id)
                if item.status is not InstalmentStatus.PAID
            ]
            dispatcher.utter_message(
                response="utter_loan_summary",
                principal=yuan(loan.principal_fen),
                loan_date=day(loan.loan_date),
                term=loan.term,
                outstanding=yuan(loan.outstanding_principal_fen),
                remaining=len(unpaid),
            )
            for item in unpaid[:SHOWN_INSTALMENTS]:
                response, variables = _instalment_reply(item)
                dispatcher.utter_message(response=response, **variables)
            if len(unpaid) > SHOWN_INSTALMENTS:
                dispatcher.utter_message(response="utter_schedule_more", more=len(unpaid) - SHOWN_INSTALMENTS)
            overdue = overdue or any(item.status is InstalmentStatus.OVERDUE for item in unpaid)
        if overdue:
            dispatcher.utter_message(response="utter_overdue_reminder")
        return []
