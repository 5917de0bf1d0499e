"""The SMS identity check (actions/identity.py) and session start (actions/common.py) on the stub bank."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rasa_sdk import Tracker

from actions.backends import product
from actions.backends.clock import FakeClock
from actions.backends.exceptions import BackendUnavailable
from actions.backends.stub import StubBankBackend
from actions.common import ActionSessionStart
from actions.identity import ActionContinueAfterVerification, ValidateVerifyIdentityForm
from tests.actions.conftest import Conversation, Result, run

FORM = "verify_identity_form"


def _unverified(customer: str | None = "cust-good") -> Conversation:
    return Conversation(customer=customer, verified=None).say("我的余额", "check_balance").start_form(FORM)


async def _start(conversation: Conversation) -> None:
    """Activate the form (sends the first code)."""
    await run(ValidateVerifyIdentityForm(), conversation.tracker(form=FORM))


async def _answer(conversation: Conversation, text: str, intent: str = "inform") -> Result:
    conversation.say(text, intent)
    tracker = conversation.tracker(form=FORM, requested="otp_code", otp_code=text)
    return await run(ValidateVerifyIdentityForm(), tracker)


# -- session start -------------------------------------------------------------------------------------------


def _session_tracker(metadata: object) -> Tracker:
    return Tracker("s", {"session_started_metadata": metadata}, {}, [], False, None, {}, None)


async def test_session_start_metadata_customer_sets_customer_and_sign_language(bank: StubBankBackend) -> None:
    result = await run(ActionSessionStart(), _session_tracker({"customer_id": "cust-deaf"}))

    assert result.events[0]["event"] == "session_started"
    assert (result.events[-1]["event"], result.events[-1]["name"]) == ("action", "action_listen")
    assert result.slots["customer_id"] == "cust-deaf"
    assert result.slots["prefers_sign_language"] is True
    assert result.responses == []


async def test_session_start_without_metadata_is_anonymous(bank: StubBankBackend) -> None:
    result = await run(ActionSessionStart(), _session_tracker(None))

    assert "customer_id" not in result.slots
    assert [event["event"] for event in result.events] == ["session_started", "action"]


async def test_session_start_unknown_customer_is_anonymous(bank: StubBankBackend) -> None:
    result = await run(ActionSessionStart(), _session_tracker({"customer_id": "cust-nobody"}))

    assert "customer_id" not in result.slots


async def test_session_start_bank_down_keeps_customer_id(failing_bank: Any) -> None:
    failing_bank(BackendUnavailable("timeout"))

    result = await run(ActionSessionStart(), _session_tracker({"customer_id": "cust-good"}))

    assert result.slots == {"session_started_metadata": {"customer_id": "cust-good"}, "customer_id": "cust-good"}


# -- the form ------------------------------------------------------------------------------------------------


async def test_verify_form_activation_sends_code_and_asks_for_it(bank: StubBankBackend) -> None:
    result = await run(ValidateVerifyIdentityForm(), _unverified().tracker(form=FORM))

    assert result.responses == ["utter_otp_sent"]
    assert result.variables("utter_otp_sent")["phone"] == "138****0001"
    assert result.slots["requested_slot"] == "otp_code"
    assert bank.debug_last_otp("cust-good") is not None


async def test_verify_form_anonymous_customer_is_told_to_log_in_and_form_stops(bank: StubBankBackend) -> None:
    result = await run(ValidateVerifyIdentityForm(), _unverified(customer=None).tracker(form=FORM))

    assert result.responses == ["utter_login_required"]
    assert result.slots["requested_slot"] is None
    assert "verified" not in result.slots


async def test_verify_form_after_hub_video_check_stops_without_a_code(bank: StubBankBackend) -> None:
    conversation = Conversation(customer="cust-deaf", verified=None).hub_verified()
    conversation.say("我要借钱", "apply_loan").start_form(FORM)

    result = await run(ValidateVerifyIdentityForm(), conversation.tracker(form=FORM))

    assert result.responses == []
    assert result.slots["requested_slot"] is None
    assert bank.debug_last_otp("cust-deaf") is None


async def test_verify_form_already_verified_stops_without_a_code(bank: StubBankBackend) -> None:
    conversation = Conversation(verified=True).say("我要验证", "verify_identity").start_form(FORM)

    result = await run(ValidateVerifyIdentityForm(), conversation.tracker(form=FORM))

    assert result.responses == []
    assert result.slots["requested_slot"] is None
    assert bank.debug_last_otp("cust-good") is None


async def test_verify_form_right_code_verifies_and_ends_form(bank: StubBankBackend) -> None:
    conversation = _unverified()
    await _start(conversation)
    code = bank.debug_last_otp("cust-good")
    assert code is not None

    answer = await _answer(conversation, f"验证码是{code}")

    assert answer.responses == ["utter_identity_verified"]
    assert answer.slots["verified"] is True
    assert answer.slots["otp_code"] is None  # the code never stays in a slot
    assert answer.slots["requested_slot"] is None


async def test_verify_form_wrong_code_then_right_code_verifies(bank: StubBankBackend) -> None:
    conversation = _unverified()
    await _start(conversation)
    code = bank.debug_last_otp("cust-good")
    assert code is not None
    wrong = "000000" if code != "000000" else "111111"

    first = await _answer(conversation, wrong)
    second = await _answer(conversation, code)

    assert first.responses == ["utter_otp_wrong"]
    assert first.variables("utter_otp_wrong") == {"attempts_left": 2}
    assert "verified" not in first.slots
    assert first.slots["requested_slot"] == "otp_code"
    assert second.slots["verified"] is True


async def test_verify_form_three_wrong_codes_lock_and_hand_off(bank: StubBankBackend) -> None:
    conversation = _unverified()
    await _start(conversation)
    code = bank.debug_last_otp("cust-good")
    wrong = "000000" if code != "000000" else "111111"

    await _answer(conversation, wrong)
    await _answer(conversation, wrong)
    third = await _answer(conversation, wrong)

    assert third.responses == ["utter_error_identity_locked"]
    assert third.slots["verified"] is False
    assert third.slots["handoff_reason"] == "identity_locked"
    assert third.slots["requested_slot"] is None
    assert await bank.is_locked("cust-good")


async def test_verify_form_started_while_locked_hands_off_at_once(bank: StubBankBackend) -> None:
    conversation = _unverified()
    await _start(conversation)
    for _ in range(3):
        await _answer(conversation, "999999" if bank.debug_last_otp("cust-good") != "999999" else "888888")

    again = await run(ValidateVerifyIdentityForm(), _unverified().tracker(form=FORM))

    assert again.responses == ["utter_error_identity_locked"]
    assert again.slots["verified"] is False
    assert again.slots["handoff_reason"] == "identity_locked"
    assert again.slots["requested_slot"] is None


async def test_verify_form_expired_code_sends_a_new_one(bank: StubBankBackend, clock: FakeClock) -> None:
    conversation = _unverified()
    await _start(conversation)
    old = bank.debug_last_otp("cust-good")
    clock.advance(timedelta(minutes=5, seconds=1))

    answer = await _answer(conversation, str(old))

    assert answer.responses == ["utter_otp_expired"]
    assert "verified" not in answer.slots
    new = bank.debug_last_otp("cust-good")
    assert (await _answer(conversation, str(new))).slots["verified"] is True


async def test_verify_form_text_without_code_asks_again_without_counting(bank: StubBankBackend) -> None:
    conversation = _unverified()
    await _start(conversation)

    answer = await _answer(conversation, "好的")

    assert answer.responses == ["utter_otp_invalid_format"]
    assert answer.slots["otp_code"] is None
    assert not await bank.is_locked("cust-good")


async def test_verify_form_resend_request_sends_a_new_code(bank: StubBankBackend) -> None:
    conversation = _unverified()
    await _start(conversation)

    answer = await _answer(conversation, "没收到验证码，再发一次", intent="verify_identity")

    assert answer.responses == ["utter_otp_resent"]
    assert answer.slots["requested_slot"] == "otp_code"


async def test_verify_form_bank_down_apologises_and_stops(failing_bank: Any) -> None:
    failing_bank(BackendUnavailable("timeout"))

    result = await run(ValidateVerifyIdentityForm(), _unverified().tracker(form=FORM))

    assert result.responses == ["utter_error_backend_unavailable"]
    assert result.slots["requested_slot"] is None
    assert "verified" not in result.slots


async def test_verify_form_unexpected_error_apologises_without_details(failing_bank: Any) -> None:
    failing_bank(KeyError("secret internal detail"))

    result = await run(ValidateVerifyIdentityForm(), _unverified().tracker(form=FORM))

    assert result.responses == ["utter_error_backend_unavailable"]
    assert "secret" not in repr(result.messages)


# -- after the form ------------------------------------------------------------------------------------------


async def test_continue_after_verification_keeps_fresh_verification(verified_bank: StubBankBackend) -> None:
    result = await run(ActionContinueAfterVerification(), Conversation(verified=True).tracker())

    assert result.slots == {"verified": True}
    assert result.responses == []


async def test_continue_after_verification_expired_check_is_not_verified(
    verified_bank: StubBankBackend, clock: FakeClock
) -> None:
    clock.advance(timedelta(minutes=31))

    result = await run(ActionContinueAfterVerification(), Conversation(verified=True).tracker())

    assert result.slots == {"verified": None}


async def test_continue_after_verification_slot_alone_does_not_verify(verified_bank: StubBankBackend) -> None:
    result = await run(ActionContinueAfterVerification(), Conversation(verified=None).tracker())

    assert result.slots == {"verified": None}


async def test_continue_after_verification_locked_sets_handoff_reason(bank: StubBankBackend) -> None:
    conversation = _unverified()
    await _start(conversation)
    for _ in range(3):
        await _answer(conversation, "999999" if bank.debug_last_otp("cust-good") != "999999" else "888888")

    result = await run(ActionContinueAfterVerification(), Conversation(verified=False).tracker())

    assert result.slots == {"verified": False, "handoff_reason": "identity_locked"}


async def test_continue_after_verification_anonymous_is_not_verified(bank: StubBankBackend) -> None:
    result = await run(ActionContinueAfterVerification(), Conversation(customer=None, verified=None).tracker())

    assert result.slots == {"verified": None}


async def test_continue_after_verification_hub_video_check_keeps_verified_and_records_it(
    bank: StubBankBackend, clock: FakeClock
) -> None:
    conversation = Conversation(customer="cust-deaf", verified=None).hub_verified()

    result = await run(ActionContinueAfterVerification(), conversation.tracker())

    assert result.slots == {"verified": True}
    assert (await bank.get_customer("cust-deaf")).verified
    (record,) = await bank.debug_verifications("cust-deaf")
    assert (record.method, record.checked_at) == ("video", clock.now())


async def test_continue_after_verification_hub_video_check_too_old_is_not_verified(
    bank: StubBankBackend, clock: FakeClock
) -> None:
    conversation = Conversation(customer="cust-deaf", verified=None).hub_verified()
    clock.advance(product.VERIFICATION_TTL)

    result = await run(ActionContinueAfterVerification(), conversation.tracker())

    assert result.slots == {"verified": None}
    assert await bank.debug_verifications("cust-deaf") == []


async def test_continue_after_verification_hub_video_check_while_locked_hands_off(bank: StubBankBackend) -> None:
    await bank.send_otp("cust-deaf")
    for _ in range(product.OTP_MAX_WRONG_ATTEMPTS):
        await bank.verify_otp("cust-deaf", "999999" if bank.debug_last_otp("cust-deaf") != "999999" else "888888")
    conversation = Conversation(customer="cust-deaf", verified=False).hub_verified()

    result = await run(ActionContinueAfterVerification(), conversation.tracker())

    assert result.slots == {"verified": False, "handoff_reason": "identity_locked"}
    assert await bank.debug_verifications("cust-deaf") == []
