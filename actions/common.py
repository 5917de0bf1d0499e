"""What every bank action shares: the customer, money formatting, error replies, session start and cancel.

Actions answer by response name only; every customer-facing word is in ``bot/domain/*.yml``. This module
picks the response for a backend error (`tell_error`), formats the variables the responses show (`yuan`,
`percent`, `day`, `moment`) and runs a backend call with the one error policy (`BankAction`): a customer who
is not logged in or not verified sees no figure, and a failing backend gets an apology and a person, never a
stack trace.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backends
from actions.backends.base import BankBackend
from actions.backends.clock import BANK_TZ
from actions.backends.exceptions import BankError, IdentityLocked, InvalidCard, NotVerified, UnknownCustomer

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"
SESSION_METADATA_SLOT = "session_started_metadata"
CUSTOMER_ID_SLOT = "customer_id"
VERIFIED_SLOT = "verified"
PENDING_REQUEST_SLOT = "pending_request"
HANDOFF_REASON_SLOT = "handoff_reason"  # declared by the handoff domain; action_handoff reads it
MAX_CUSTOMER_ID_CHARS = 64  # the bank's ids are short; anything longer is not an id the hub sent

# The slots each form fills; cancelling or finishing a form clears them so the next run starts empty.
FORM_SLOTS: Mapping[str, tuple[str, ...]] = {
    "verify_identity_form": ("otp_code",),
    "loan_form": ("loan_amount", "loan_term", "loan_purpose", "loan_confirmed"),
    "repay_form": ("repay_loan_id", "repay_kind", "repay_scope", "repay_amount", "repay_confirmed"),
    "bind_card_form": ("card_operation", "card_number", "reserved_phone", "card_last4", "card_confirmed"),
}

# Backend error code -> the domain response that explains it. Codes not listed (and any other exception)
# get the apology with a button to a person.
ERROR_RESPONSES: Mapping[str, str] = {
    "unknown_customer": "utter_error_unknown_customer",
    "unknown_loan": "utter_error_unknown_loan",
    "unknown_card": "utter_error_unknown_card",
    "not_verified": "utter_error_not_verified",
    "identity_locked": "utter_error_identity_locked",
    "face_check_required": "utter_error_face_check_required",
    "account_frozen": "utter_error_account_frozen",
    "customer_overdue": "utter_error_customer_overdue",
    "credit_not_assessed": "utter_error_credit_not_assessed",
    "invalid_term": "utter_error_invalid_term",
    "invalid_purpose": "utter_error_invalid_purpose",
    "amount_below_minimum": "utter_error_amount_below_minimum",
    "amount_not_in_steps": "utter_error_amount_not_in_steps",
    "amount_above_loan_maximum": "utter_error_amount_above_loan_maximum",
    "amount_above_available": "utter_error_amount_above_available",
    "nothing_to_repay": "utter_error_nothing_to_repay",
    "amount_below_due": "utter_error_amount_below_due",
    "amount_above_owed": "utter_error_amount_above_owed",
    "insufficient_balance": "utter_error_insufficient_balance",
    "invalid_date": "utter_error_invalid_date",
    "invalid_card": "utter_error_invalid_card",  # + "_<reason>", see `error_reply`
    "card_already_bound": "utter_error_card_already_bound",
    "card_limit_reached": "utter_error_card_limit_reached",
    "card_required": "utter_error_card_required",
    "no_card_bound": "utter_error_no_card_bound",
    "idempotency_conflict": "utter_error_idempotency_conflict",
}
BACKEND_UNAVAILABLE_RESPONSE = "utter_error_backend_unavailable"


# -- formatting -------------------------------------------------------------------------------------------------


def yuan(fen: int) -> str:
    """Fen as 元 with thousands separators and two decimals: 1234567 -> ``12,345.67``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def to_fen(amount_yuan: Any) -> int | None:
    """An amount in 元 as the entity extractor or a slot holds it (int, float, str) -> fen; None if not money."""
    if isinstance(amount_yuan, bool) or amount_yuan is None:
        return None
    try:
        value = Decimal(str(amount_yuan).strip().replace(",", ""))
    except ArithmeticError:
        return None
    if not value.is_finite() or value <= 0:
        return None
    fen = value * 100
    return int(fen) if fen == fen.to_integral_value() else None


def percent(value: Decimal) -> str:
    """A percentage with at least two decimals and no trailing zeros beyond: 0.045 -> ``0.045``, 7.3 -> ``7.30``."""
    whole, _, fraction = format(value.normalize(), "f").partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def day(value: date) -> str:
    """A calendar day as the customer reads it: ``2025-03-15``."""
    return value.isoformat()


def moment(value: datetime) -> str:
    """A time in Beijing time to the minute: ``2025-03-15 10:00``."""
    return value.astimezone(BANK_TZ).strftime("%Y-%m-%d %H:%M")


# -- the tracker ------------------------------------------------------------------------------------------------


def customer_id(tracker: Tracker) -> str | None:
    """The logged-in customer's id, or None for an anonymous visitor."""
    value = tracker.get_slot(CUSTOMER_ID_SLOT)
    return value if isinstance(value, str) and value else None


def is_verified(tracker: Tracker) -> bool:
    """Whether the customer passed the SMS check in this conversation."""
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


def latest_user_event(tracker: Tracker, intents: Iterable[str]) -> dict[str, Any] | None:
    """The newest user message whose intent is one of `intents` (the request a flow answers)."""
    wanted = set(intents)
    for event in reversed(tracker.events):
        if event.get("event") == "user" and (event.get("parse_data") or {}).get("intent", {}).get("name") in wanted:
            return event
    return None


def entity_value(user_event: Mapping[str, Any] | None, entity: str) -> Any:
    """The last value of `entity` in a user event's parse data, or None."""
    if not user_event:
        return None
    values = [item.get("value") for item in (user_event.get("parse_data") or {}).get("entities", [])]
    names = [item.get("entity") for item in (user_event.get("parse_data") or {}).get("entities", [])]
    found = [value for name, value in zip(names, values, strict=True) if name == entity]
    return found[-1] if found else None


def reset_form_slots(form_name: str) -> list[EventType]:
    """SlotSet(None) for every slot of the form."""
    return [SlotSet(slot, None) for slot in FORM_SLOTS[form_name]]


# -- errors -----------------------------------------------------------------------------------------------------


def error_reply(error: BaseException) -> tuple[str, dict[str, Any]]:
    """The response that explains `error` to the customer, and its variables.

    Amount details (``*_fen``) become 元 strings without the suffix (``minimum_fen`` -> ``minimum``).
    """
    response = ERROR_RESPONSES.get(error.code) if isinstance(error, BankError) else None
    if response is None:
        return BACKEND_UNAVAILABLE_RESPONSE, {}
    if isinstance(error, InvalidCard):
        return f"{response}_{error.reason}", {}
    if isinstance(error, IdentityLocked):
        return response, {"until": moment(error.until)}
    variables: dict[str, Any] = {}
    for key, value in error.details().items():
        if key.endswith("_fen"):
            variables[key.removesuffix("_fen")] = yuan(int(value))
        else:
            variables[key] = value
    return response, variables


def tell_error(
    dispatcher: CollectingDispatcher, error: BaseException, *, action: str, retry_intent: str
) -> list[EventType]:
    """Explain a failed backend call to the customer, log it, and return the events it implies.

    Args:
        dispatcher: Where the reply goes.
        error: What the backend (or our own code) raised.
        action: The action that failed, for the log.
        retry_intent: The intent the "verify again" button repeats when the check has expired.
    """
    if not isinstance(error, BankError):
        logger.error("%s failed unexpectedly", action, exc_info=error)
    elif error.code not in ERROR_RESPONSES:
        logger.warning("%s: bank backend failed: %s", action, error)
    else:
        logger.info("%s: bank said %s", action, error.code)
    response, variables = error_reply(error)
    if isinstance(error, NotVerified):
        variables["retry_intent"] = retry_intent
    dispatcher.utter_message(response=response, **variables)
    if isinstance(error, NotVerified):
        return [SlotSet(VERIFIED_SLOT, None)]
    if isinstance(error, IdentityLocked):
        return [SlotSet(VERIFIED_SLOT, False), SlotSet(HANDOFF_REASON_SLOT, "identity_locked")]
    return []


class BankAction(Action, abc.ABC):
    """An action that shows or changes the customer's money or cards.

    `run` refuses anonymous and unverified customers (whatever the dialogue predicted) and turns every backend
    failure into a reply; subclasses implement `act`, and `failure_events` when a failure must also end a form
    or clear its slots.
    """

    retry_intent: ClassVar[str] = "verify_identity"

    def failure_events(self) -> list[EventType]:
        """Events returned after a refusal or a failure, besides those `tell_error` returns."""
        return []

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Check the customer, then `act`; a failure is told, logged and never raised."""
        customer = customer_id(tracker)
        if customer is None:
            dispatcher.utter_message(response="utter_login_required")
            return self.failure_events()
        if not is_verified(tracker):
            dispatcher.utter_message(response="utter_verify_first", retry_intent=self.retry_intent)
            return self.failure_events()
        try:
            return await self.act(dispatcher, tracker, domain, backends.get_backend(), customer)
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

    The hub sends ``{"customer_id": ...}`` as REST-channel metadata; without one the visitor is anonymous and
    transactional requests are told to log in. Verification never carries over: every session starts
    unverified.
    """

    def name(self) -> str:
        """The default action this overrides."""
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
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

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Say it is cancelled; forget what the forms collected."""
        dispatcher.utter_message(response="utter_cancelled")
        return [event for form in FORM_SLOTS for event in reset_form_slots(form)]
