"""Backend errors as replies: which domain response explains which error, with which variables.

Every error code the bank can answer with has an ``utter_error_<code>`` response (an invalid card has one per
reason). `BackendUnavailable`, an unknown code or any other exception gets the apology with a button to a
person. The customer never sees an exception's text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backends.exceptions import BankError, IdentityLocked, InvalidCard, NotVerified
from actions.formatting import moment, yuan

logger = logging.getLogger(__name__)

VERIFIED_SLOT = "verified"
HANDOFF_REASON_SLOT = "handoff_reason"  # declared by the handoff domain; action_handoff reads it
IDENTITY_LOCKED = "identity_locked"  # the handoff_reason value for a locked verification
BACKEND_UNAVAILABLE_RESPONSE = "utter_error_backend_unavailable"

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
    "invalid_card": "utter_error_invalid_card",  # + "_<reason>"
    "card_already_bound": "utter_error_card_already_bound",
    "card_limit_reached": "utter_error_card_limit_reached",
    "card_required": "utter_error_card_required",
    "no_card_bound": "utter_error_no_card_bound",
    "idempotency_conflict": "utter_error_idempotency_conflict",
}
"""Backend error code -> the response that explains it."""


def error_reply(error: BaseException) -> tuple[str, dict[str, Any]]:
    """The response that explains `error` to the customer, and its variables.

    Amount details (``*_fen``) become 元 strings named without the suffix (``minimum_fen`` -> ``minimum``).
    """
    if not isinstance(error, BankError) or error.code not in ERROR_RESPONSES:
        return BACKEND_UNAVAILABLE_RESPONSE, {}
    response = ERROR_RESPONSES[error.code]
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


def say_error(dispatcher: CollectingDispatcher, error: BaseException, **extra: Any) -> None:
    """Send the response that explains `error` (a rule the customer's answer broke, usually)."""
    response, variables = error_reply(error)
    dispatcher.utter_message(response=response, **variables, **extra)


def tell_error(
    dispatcher: CollectingDispatcher, error: BaseException, *, action: str, retry_intent: str
) -> list[EventType]:
    """Explain a failed backend call to the customer, log it, and return the events it implies.

    Args:
        dispatcher: Where the reply goes.
        error: What the backend (or our own code) raised.
        action: The action that failed, for the log.
        retry_intent: The intent the "verify again" button repeats when the check has expired.

    Returns:
        ``verified`` unset after an expired check; ``verified`` false and the handoff reason after a lock.
    """
    if not isinstance(error, BankError):
        logger.error("%s failed unexpectedly", action, exc_info=error)
    elif error.code not in ERROR_RESPONSES:
        logger.warning("%s: the bank backend failed: %s", action, error)
    else:
        logger.info("%s: the bank answered %s", action, error.code)
    if isinstance(error, NotVerified):
        say_error(dispatcher, error, retry_intent=retry_intent)
        return [SlotSet(VERIFIED_SLOT, None)]
    say_error(dispatcher, error)
    if isinstance(error, IdentityLocked):
        return [SlotSet(VERIFIED_SLOT, False), SlotSet(HANDOFF_REASON_SLOT, IDENTITY_LOCKED)]
    return []
