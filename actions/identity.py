"""The SMS identity check (`verify_identity_form`) and what happens right after it.

Flow: a transactional request from an unverified customer activates ``verify_identity_form``. At activation
the validation action sends a 6-digit code (valid 5 minutes); each answer is checked with the bank. Right
code -> ``verified`` true; wrong -> "N tries left"; expired -> a new code; the third wrong code locks
verification for 30 minutes -> ``verified`` false and ``handoff_reason`` identity_locked. The form then ends
and ``action_continue_after_verification`` re-reads the state from the bank, so the rules can continue with
the pending request, hand off, or wait.

A customer an interpreter verified on a sign-language video arrives with ``verified`` true from the hub
(`actions.verification`): the form stops at once, and ``action_continue_after_verification`` records the
check with the bank before re-reading it, so ``verified`` stays true.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backends
from actions.backends.base import BankBackend, OtpExpired, OtpLocked, OtpVerified, OtpWrong
from actions.backends.exceptions import IdentityLocked, NotVerified
from actions.common import BankFormValidationAction, customer_id, is_verified, latest_intent
from actions.formatting import moment
from actions.parsing import otp_from_text
from actions.replies import HANDOFF_REASON_SLOT, IDENTITY_LOCKED, VERIFIED_SLOT
from actions.verification import confirm_trusted_check

logger = logging.getLogger(__name__)

OTP_SLOT = "otp_code"


class ValidateVerifyIdentityForm(BankFormValidationAction):
    """Sends the code at activation and checks each answer with the bank."""

    requires_verification = False

    def name(self) -> str:
        """The form's validation action."""
        return "validate_verify_identity_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Nothing more to ask once the check passed (true) or locked (false)."""
        return [] if tracker.get_slot(VERIFIED_SLOT) is not None else domain_slots

    async def start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, bank: BankBackend, customer: str
    ) -> list[EventType] | None:
        """Send the first code; an already verified customer needs none (the form stops at once)."""
        if is_verified(tracker):
            return None
        sent = await bank.send_otp(customer)  # IdentityLocked while locked: told, and the form stops
        dispatcher.utter_message(response="utter_otp_sent", phone=sent.phone_masked)
        # A lock from earlier in the session has run out, or the bank would not have sent a code.
        return [SlotSet(VERIFIED_SLOT, None)]

    async def validate_otp_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Check the code; the typed code never stays in a slot."""
        customer = customer_id(tracker)
        assert customer is not None  # run() returned before validating otherwise
        bank = backends.get_backend()
        code = otp_from_text(value)
        if code is None:
            if latest_intent(tracker) == "verify_identity":  # "没收到，再发一次"
                sent = await bank.send_otp(customer)
                dispatcher.utter_message(response="utter_otp_resent", phone=sent.phone_masked)
            else:
                dispatcher.utter_message(response="utter_otp_invalid_format")
            return {OTP_SLOT: None}
        result = await bank.verify_otp(customer, code)
        if isinstance(result, OtpVerified):
            dispatcher.utter_message(response="utter_identity_verified")
            return {OTP_SLOT: None, VERIFIED_SLOT: True}
        if isinstance(result, OtpWrong):
            dispatcher.utter_message(response="utter_otp_wrong", attempts_left=result.attempts_left)
            return {OTP_SLOT: None}
        if isinstance(result, OtpLocked):
            logger.info("identity verification locked for a customer until %s", result.until)
            dispatcher.utter_message(response="utter_error_identity_locked", until=moment(result.until))
            return {OTP_SLOT: None, VERIFIED_SLOT: False, HANDOFF_REASON_SLOT: IDENTITY_LOCKED}
        assert isinstance(result, OtpExpired)
        sent = await bank.send_otp(customer)
        dispatcher.utter_message(response="utter_otp_expired", phone=sent.phone_masked)
        return {OTP_SLOT: None}


class ActionContinueAfterVerification(Action):
    """Runs when ``verify_identity_form`` ends: sets ``verified`` from the bank, the source of truth.

    ``verified`` stays true only if this conversation passed the check (or the hub reported a person's check,
    which is recorded with the bank first) and the bank still counts it fresh; false (with ``handoff_reason``)
    while verification is locked; otherwise unset. The rules then continue with ``pending_request``, hand
    off, or wait for the customer.
    """

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_continue_after_verification"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Return the checked ``verified`` slot (and the handoff reason when locked)."""
        customer = customer_id(tracker)
        if customer is None:
            return [SlotSet(VERIFIED_SLOT, None)]
        bank = backends.get_backend()
        try:
            if await bank.is_locked(customer):
                return [SlotSet(VERIFIED_SLOT, False), SlotSet(HANDOFF_REASON_SLOT, IDENTITY_LOCKED)]
            await confirm_trusted_check(tracker, bank, customer)
            fresh = (await bank.get_customer(customer)).verified
        except NotVerified:  # the hub's check is too old for the bank to count
            return [SlotSet(VERIFIED_SLOT, None)]
        except IdentityLocked:  # locked between the two calls
            return [SlotSet(VERIFIED_SLOT, False), SlotSet(HANDOFF_REASON_SLOT, IDENTITY_LOCKED)]
        except Exception as error:  # the form already apologised if the bank is down; keep what it found
            logger.warning("%s: could not re-check verification: %s", self.name(), error)
            return [SlotSet(VERIFIED_SLOT, tracker.get_slot(VERIFIED_SLOT))]
        return [SlotSet(VERIFIED_SLOT, True if is_verified(tracker) and fresh else None)]
