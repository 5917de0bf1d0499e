"""Identity checks a trusted person did outside the bot: the interpreter's check on a sign-language video.

The hub stores the check (hub/services/identity_checks.py) and, when the interpreter resolves the stay, posts
``verified`` true and ``verification_method`` ``video`` to Rasa's tracker in the same request as ``resume``.
Neither slot can be filled from a customer's message: both have only a ``custom`` mapping without an action
(bot/domain/identity.yml), and a ``/intent{...}`` payload fills ``from_entity`` slots only. So these values
come from the hub (through Rasa's HTTP API, which must answer to the hub alone) or from our own actions.

The bank stays the source of truth. While ``verified`` is true because of such a check and the bank does not
count the customer as verified, `confirm_trusted_check` records the check with the bank
(`BankBackend.record_verification`) and the action goes on. The record's idempotency key is the hub's slot
event, so one check is recorded once: it counts for the SMS check's 30 minutes from when the hub reported it,
and no later action can stretch it. After that the bank answers "not verified" and the customer verifies by
SMS like everyone else. The price: in such a conversation every bank action first asks the bank whether the
customer is verified (one `get_customer` call).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from rasa_sdk import Tracker

from actions.backends.base import VERIFICATION_METHODS, BankBackend, VerificationMethod
from actions.backends.clock import BANK_TZ
from actions.replies import VERIFIED_SLOT

logger = logging.getLogger(__name__)

VERIFICATION_METHOD_SLOT = "verification_method"


@dataclass(frozen=True)
class TrustedCheck:
    """An identity check a trusted person did, as the hub reported it on the tracker.

    Attributes:
        method: How the customer was checked (``video``).
        checked_at: When the hub reported it (its slot event's time); the bank counts the 30 minutes from here.
        key: The idempotency key: the conversation and the hub's event, so one check is recorded once.
    """

    method: VerificationMethod
    checked_at: datetime
    key: str


def trusted_check(tracker: Tracker) -> TrustedCheck | None:
    """The hub's check behind ``verified`` true, or None: not verified, or verified by the bot's SMS flow.

    Only the slot and the slot event count, never what a customer's message carried (its entities).
    """
    if tracker.get_slot(VERIFIED_SLOT) is not True:
        return None
    method = tracker.get_slot(VERIFICATION_METHOD_SLOT)
    if method not in VERIFICATION_METHODS:
        return None
    event = next(
        (
            event
            for event in reversed(tracker.events)
            if event.get("event") == "slot" and event.get("name") == VERIFICATION_METHOD_SLOT
        ),
        None,
    )
    timestamp = (event or {}).get("timestamp")
    if event is None or event.get("value") != method or not isinstance(timestamp, int | float):
        return None
    return TrustedCheck(
        method=cast(VerificationMethod, method),
        checked_at=datetime.fromtimestamp(timestamp, BANK_TZ),
        key=f"{tracker.sender_id}:{VERIFICATION_METHOD_SLOT}:{method}:{timestamp!r}",
    )


async def confirm_trusted_check(tracker: Tracker, bank: BankBackend, customer: str) -> None:
    """Make the bank count the hub's check behind ``verified``, once; do nothing when there is none.

    Args:
        tracker: The conversation.
        bank: The backend.
        customer: The logged-in customer.

    Raises:
        What `BankBackend.record_verification` raises: NotVerified when the check is already too old,
        IdentityLocked while verification is locked, BackendUnavailable.
    """
    check = trusted_check(tracker)
    if check is None or (await bank.get_customer(customer)).verified:
        return
    until = await bank.record_verification(customer, check.method, None, check.key, check.checked_at)
    logger.info("the bank counts the hub's %s identity check until %s", check.method, until.isoformat())
