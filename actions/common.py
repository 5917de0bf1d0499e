"""What every bank action shares: the customer, the base classes with the error policy, session start, cancel.

The policy (`BankAction`, `BankFormValidationAction`): an anonymous customer is told to log in, an unverified
one to verify, whatever the dialogue predicted; a check the hub reported (the interpreter's video check) is
recorded with the bank first (`actions.verification`); a failing backend gets an apology and a person
(`actions.replies`), is logged, and never shows a stack trace. Actions answer by response name only: every
customer-facing word is in ``bot/domain/*.yml``.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backends
from actions.backends.base import BankBackend
from actions.backends.exceptions import UnknownCustomer
from actions.replies import VERIFIED_SLOT, tell_error
from actions.verification import confirm_trusted_check

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"
SESSION_METADATA_SLOT = "session_started_metadata"
CUSTOMER_ID_SLOT = "customer_id"
PENDING_REQUEST_SLOT = "pending_request"
MAX_CUSTOMER_ID_CHARS = 64  # the bank's ids are short; anything longer is not an id the hub sent

FORM_SLOTS: Mapping[str, tuple[str, ...]] = {
    "verify_identity_form": ("otp_code",),
    "loan_form": ("loan_amount", "loan_term", "loan_purpose", "loan_confirmed"),
    "repay_form": ("repay_loan_id", "repay_kind", "repay_scope", "repay_amount", "repay_confirmed"),
    "bind_card_form": ("card_operation", "card_number", "reserved_phone", "card_last4", "card_id", "card_confirmed"),
}
"""The slots each form fills; cancelling or finishing a form clears them so the next run starts empty."""


# -- the tracker ------------------------------------------------------------------------------------------------


def customer_id(tracker: Tracker) -> str | None:
    """The logged-in customer's id, or None for an anonymous visitor."""
    value = tracker.get_slot(CUSTOMER_ID_SLOT)
    return value if isinstance(value, str) and value else None


def is_verified(tracker: Tracker) -> bool:
    """Whether the customer passed the SMS check in this conversation, or the hub reported a person's check."""
    return tracker.get_slot(VERIFIED_SLOT) is True


def form_run_key(tracker: Tracker, form_name: str) -> str:
    """An idempotency key stable for one run of a form: sender id + the form's activation time.

    A retried confirmation of the same run sends the same key, so the bank does the write once; the next run
    of the form is activated later and gets a new key.
    """
    started = next(
        (
            event.get("timestamp")
            for event in reversed(tracker.events)
            if event.get("event") == "active_loop" and event.get("name") == form_name
        ),
        None,
    )
    return f"{tracker.sender_id}:{form_name}:{started!r}"


def latest_intent(tracker: Tracker) -> str | None:
    """The intent of the customer's last message (payload buttons included), or None."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name")
    return name if isinstance(name, str) else None


def latest_user_event(tracker: Tracker, intents: Iterable[str]) -> dict[str, Any] | None:
    """The newest user message whose intent is one of `intents`: the request a flow answers."""
    wanted = set(intents)
    for event in reversed(tracker.events):
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if event.get("event") == "user" and intent.get("name") in wanted:
            return event
    return None


def entity_value(user_event: Mapping[str, Any] | None, entity: str) -> Any:
    """The last value of `entity` in a user event's parse data, or None."""
    if not user_event:
        return None
    entities = (user_event.get("parse_data") or {}).get("entities") or []
    values = [item.get("value") for item in entities if item.get("entity") == entity]
    return values[-1] if values else None


def reset_form_slots(form_name: str) -> list[EventType]:
    """SlotSet(None) for every slot of the form."""
    return [SlotSet(slot, None) for slot in FORM_SLOTS[form_name]]


# -- base classes -----------------------------------------------------------------------------------------------


class BankAction(Action, abc.ABC):
    """An action that shows or changes the customer's money or cards.

    `run` refuses anonymous and unverified customers and turns every failure into a reply; subclasses
    implement `act`, and `failure_events` when a failure must also end a form or clear its slots.
    """

    retry_intent: ClassVar[str] = "verify_identity"

    def failure_events(self) -> list[EventType]:
        """Events returned after a refusal or a failure, besides those `tell_error` returns."""
        return []

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Check the customer (record a check the hub reported), then `act`; a failure is told, never raised."""
        customer = customer_id(tracker)
        if customer is None:
            dispatcher.utter_message(response="utter_login_required")
            return self.failure_events()
        if not is_verified(tracker):
            dispatcher.utter_message(response="utter_verify_first", retry_intent=self.retry_intent)
            return self.failure_events()
        try:
            bank = backends.get_backend()
            await confirm_trusted_check(tracker, bank, customer)
            return await self.act(dispatcher, tracker, domain, bank, customer)
        except Exception as error:  # the policy: apologise and offer a person, never a stack trace
            events = tell_error(dispatcher, error, action=self.name(), retry_intent=self.retry_intent)
            return [*events, *self.failure_events()]

    @abc.abstractmethod
    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Do the work for a logged-in, verified customer; backend errors may propagate."""


class ConfirmedFormSubmission(BankAction, abc.ABC):
    """The action after a bank form: submits once per form run if the customer confirmed, then clears the form.

    A confirmation of ``False`` tells the customer nothing was done; anything else but ``True`` means the form
    stopped early and nothing is said. Subclasses name the form, its confirmation slot and the "not submitted"
    response, and implement `submit` with the form run's idempotency key.
    """

    form_name: ClassVar[str]
    confirmed_slot: ClassVar[str]
    not_submitted_response: ClassVar[str]

    def failure_events(self) -> list[EventType]:
        """Clear the form whatever happened."""
        return reset_form_slots(self.form_name)

    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        bank: BankBackend,
        customer: str,
    ) -> list[EventType]:
        """Submit only a confirmed form run; always clear the form afterwards."""
        confirmed = tracker.get_slot(self.confirmed_slot)
        if confirmed is False:
            dispatcher.utter_message(response=self.not_submitted_response)
        if confirmed is True:
            await self.submit(dispatcher, tracker, bank, customer, form_run_key(tracker, self.form_name))
        return reset_form_slots(self.form_name)

    @abc.abstractmethod
    async def submit(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, bank: BankBackend, customer: str, key: str
    ) -> None:
        """Make the change with idempotency ``key`` and tell the customer; backend errors may propagate."""


class BankFormAskAction(BankAction, abc.ABC):
    """An ``action_ask_<slot>`` of a bank form: a refusal or a failure ends the form."""

    def failure_events(self) -> list[EventType]:
        """The form stops (``requested_slot`` unset) and its submit action finds nothing confirmed."""
        return [SlotSet(REQUESTED_SLOT, None)]


class BankFormValidationAction(FormValidationAction, abc.ABC):
    """The validation action of a bank form, with the same policy as `BankAction`.

    At activation (nothing requested yet) `start` runs first: it may stop the form, having told the customer
    why, or add slots (prefills) that are then validated like answers. A refusal or failure stops the form
    and clears its slots. The next slot is always set explicitly, so activation never validates twice.
    """

    retry_intent: ClassVar[str] = "verify_identity"
    requires_verification: ClassVar[bool] = True

    @abc.abstractmethod
    def name(self) -> str:
        """``validate_<form name>``; abstract so the action server does not register this base class."""

    def stop_events(self) -> list[EventType]:
        """End the form now with its slots cleared."""
        return [*reset_form_slots(self.form_name()), SlotSet(REQUESTED_SLOT, None)]

    async def start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, bank: BankBackend, customer: str
    ) -> list[EventType] | None:
        """Run once when the form activates: None stops the form, else the prefill events to validate."""
        return []

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Refuse, start or validate; a failure is told, logged, and ends the form."""
        customer = customer_id(tracker)
        if customer is None:
            dispatcher.utter_message(response="utter_login_required")
            return self.stop_events()
        if self.requires_verification and not is_verified(tracker):
            dispatcher.utter_message(response="utter_verify_first", retry_intent=self.retry_intent)
            return self.stop_events()
        try:
            bank = backends.get_backend()
            if self.requires_verification:
                await confirm_trusted_check(tracker, bank, customer)
            prefill: list[EventType] = []
            if tracker.get_slot(REQUESTED_SLOT) is None:
                started = await self.start(dispatcher, tracker, bank, customer)
                if started is None:
                    return self.stop_events()
                prefill = started
                tracker.add_slots(prefill)
            return [*prefill, *await super().run(dispatcher, tracker, domain)]
        except Exception as error:  # the policy: apologise and offer a person, never a stack trace
            events = tell_error(dispatcher, error, action=self.name(), retry_intent=self.retry_intent)
            return [*events, *self.stop_events()]

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> EventType | None:
        """The first required slot still empty, or None when the form is complete."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        missing = next((slot for slot in required if tracker.slots.get(slot) is None), None)
        return SlotSet(REQUESTED_SLOT, missing)


# -- session start and cancel -----------------------------------------------------------------------------------


def _metadata_customer_id(metadata: Any) -> str | None:
    if not isinstance(metadata, Mapping):
        return None
    value = metadata.get(CUSTOMER_ID_SLOT)
    if isinstance(value, str) and 0 < len(value.strip()) <= MAX_CUSTOMER_ID_CHARS:
        return value.strip()
    return None


class ActionSessionStart(Action):
    """Starts a session: who the customer is (from the hub's metadata) and whether they prefer sign language.

    The hub sends ``{"customer_id": ...}`` as REST-channel metadata; without a known id the visitor is
    anonymous and transactional requests are told to log in. Verification never carries over: every session
    starts unverified.
    """

    def name(self) -> str:
        """The default action this overrides."""
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Return SessionStarted, the customer's slots and action_listen."""
        metadata = tracker.get_slot(SESSION_METADATA_SLOT) or (tracker.latest_message or {}).get("metadata")
        events: list[EventType] = [SessionStarted()]
        if metadata:
            events.append(SlotSet(SESSION_METADATA_SLOT, metadata))
        customer = _metadata_customer_id(metadata)
        if customer is not None:
            events.extend(await self._customer_slots(customer))
        events.append(ActionExecuted("action_listen"))
        return events

    @staticmethod
    async def _customer_slots(customer: str) -> list[EventType]:
        try:
            profile = await backends.get_backend().get_customer(customer)
        except UnknownCustomer:
            logger.warning("session start: the hub sent an unknown customer id %r", customer)
            return []
        except Exception as error:  # the profile is a nicety; the customer id still counts
            logger.warning("session start: customer profile unavailable: %s", error)
            return [SlotSet(CUSTOMER_ID_SLOT, customer)]
        return [
            SlotSet(CUSTOMER_ID_SLOT, customer),
            SlotSet("prefers_sign_language", profile.prefers_sign_language),
        ]


class ActionCancelForm(Action):
    """After ``action_deactivate_loop``: confirm the cancel and clear every form's slots."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_cancel_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Say it is cancelled; forget what the forms collected."""
        dispatcher.utter_message(response="utter_cancelled")
        return [event for form in FORM_SLOTS for event in reset_form_slots(form)]
