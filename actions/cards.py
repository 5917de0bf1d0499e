"""Binding and unbinding debit cards (`bind_card_form`).

The bind_card intent covers both (绑卡, 解绑尾号1234); ``card_operation`` is read from the request at
activation. Binding asks the card number and the phone number reserved at the card's bank (the fresh SMS
check stands for the bank's SMS code), then confirms; unbinding asks which card (skipped when there is one),
then confirms. The write carries an idempotency key stable for the form run, and the form's slots, the card
number included, are cleared when it ends.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backends
from actions.backends import product
from actions.backends.base import BankBackend, Card, CustomerStatus
from actions.backends.exceptions import AccountFrozen, CardLimitReached, UnknownCard
from actions.common import (
    BankFormAskAction,
    BankFormValidationAction,
    ConfirmedFormSubmission,
    customer_id,
    latest_user_event,
)
from actions.parsing import BIND, UNBIND, card_number, last_four, mask_phone, mobile_number, operation_of, parse_choice


def choose_card(value: Any, cards: list[Card]) -> Card | None:
    """The card the customer meant: its last 4 digits (``尾号1234``) or its position in the list."""
    tail = last_four(value)
    if tail is not None:
        return next((card for card in cards if card.card_last4 == tail), None)
    position = parse_choice(value, len(cards))
    return cards[position - 1] if position else None


class ValidateBindCardForm(BankFormValidationAction):
    """Reads bind or unbind at activation; validates the card number, reserved phone and card choice."""

    retry_intent = "bind_card"

    def name(self) -> str:
        """The form's validation action."""
        return "validate_bind_card_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Binding: number, phone, confirm. Unbinding: which card, confirm."""
        if tracker.get_slot("card_operation") == UNBIND:
            return ["card_last4", "card_confirmed"]
        return ["card_number", "reserved_phone", "card_confirmed"]

    async def start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, bank: BankBackend, customer: str
    ) -> list[EventType] | None:
        """Frozen accounts cannot change cards; five cards are the most; there must be a card to unbind."""
        if (await bank.get_customer(customer)).status is CustomerStatus.FROZEN:
            raise AccountFrozen()
        operation = operation_of((latest_user_event(tracker, ["bind_card"]) or {}).get("text"))
        cards = await bank.cards(customer)
        events: list[EventType] = [SlotSet("card_operation", operation)]
        if operation == BIND:
            if len(cards) >= product.MAX_CARDS:
                raise CardLimitReached(product.MAX_CARDS)
            dispatcher.utter_message(response="utter_bind_card_start")
        elif not cards:
            dispatcher.utter_message(response="utter_no_cards")
            return None
        elif len(cards) == 1 and tracker.get_slot("card_last4") is None:
            events.append(SlotSet("card_last4", cards[0].card_last4))
        return events

    async def validate_card_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """16 to 19 digits passing the Luhn check."""
        number = card_number(value)
        if number is None:
            dispatcher.utter_message(response="utter_card_number_invalid")
            return {"card_number": None}
        return {"card_number": number}

    async def validate_reserved_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An 11-digit mainland mobile number."""
        phone = mobile_number(value)
        if phone is None:
            dispatcher.utter_message(response="utter_reserved_phone_invalid")
            return {"reserved_phone": None}
        return {"reserved_phone": phone}

    async def validate_card_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One of the bound cards, by its last 4 digits or its position in the list."""
        if tracker.get_slot("card_operation") != UNBIND:
            return {"card_last4": None, "card_id": None}  # a card tail said while binding is not a choice
        customer = customer_id(tracker)
        assert customer is not None  # run() refuses anonymous customers before validating
        card = choose_card(value, await backends.get_backend().cards(customer))
        if card is None:
            dispatcher.utter_message(response="utter_card_choice_invalid")
            return {"card_last4": None, "card_id": None}
        return {"card_last4": card.card_last4, "card_id": card.id}


class ActionAskCardLast4(BankFormAskAction):
    """Lists the bound cards and asks which one to unbind, with a button per card."""

    retry_intent = "bind_card"

    def name(self) -> str:
        """The form asks for ``card_last4`` with this action."""
        return "action_ask_card_last4"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Utter the list and the question."""
        cards = await bank.cards(customer)
        dispatcher.utter_message(response="utter_card_list_header", count=len(cards))
        for position, card in enumerate(cards, start=1):
            dispatcher.utter_message(
                response="utter_card_option_default" if card.is_default else "utter_card_option",
                index=position,
                bank_name=card.bank_name,
                masked_number=card.masked_number,
            )
        buttons = [
            {
                "title": f"{card.bank_name} {card.masked_number}",
                "payload": f'/inform{{"card_last4":"{card.card_last4}"}}',
            }
            for card in cards
        ]
        dispatcher.utter_message(response="utter_card_choice_question", buttons=buttons)
        return []


class ActionAskCardConfirmed(BankFormAskAction):
    """Repeats the card (and the reserved phone, masked) and asks to confirm."""

    retry_intent = "bind_card"

    def name(self) -> str:
        """The form asks for ``card_confirmed`` with this action."""
        return "action_ask_card_confirmed"

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Utter the bind or unbind confirmation question."""
        if tracker.get_slot("card_operation") == UNBIND:
            card = _bound_card(await bank.cards(customer), tracker.get_slot("card_id"))
            dispatcher.utter_message(
                response="utter_card_confirm_unbind", bank_name=card.bank_name, card_last4=card.card_last4
            )
            return []
        dispatcher.utter_message(
            response="utter_card_confirm_bind",
            card_last4=str(tracker.get_slot("card_number"))[-4:],
            phone=mask_phone(str(tracker.get_slot("reserved_phone"))),
        )
        return []


def _bound_card(cards: list[Card], card_id: Any) -> Card:
    card = next((card for card in cards if card.id == card_id), None)
    if card is None:
        raise UnknownCard()
    return card


class ActionSubmitCard(ConfirmedFormSubmission):
    """After ``bind_card_form``: binds or unbinds if confirmed (once per form run), then clears the form."""

    retry_intent = "bind_card"
    form_name = "bind_card_form"
    confirmed_slot = "card_confirmed"
    not_submitted_response = "utter_card_not_submitted"

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_submit_card"

    async def submit(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, bank: BankBackend, customer: str, key: str
    ) -> None:
        """Bind or unbind the card and tell the customer."""
        if tracker.get_slot("card_operation") == UNBIND:
            # By id, not by a fresh look-up: a retried confirmation repeats the same call and key.
            await bank.unbind_card(customer, str(tracker.get_slot("card_id")), key)
            dispatcher.utter_message(response="utter_card_unbound", card_last4=tracker.get_slot("card_last4"))
            return
        bound = await bank.bind_card(
            customer, str(tracker.get_slot("card_number")), str(tracker.get_slot("reserved_phone")), key
        )
        dispatcher.utter_message(response="utter_card_bound", bank_name=bound.bank_name, card_last4=bound.card_last4)
        if bound.is_default:
            dispatcher.utter_message(response="utter_card_bound_default")
