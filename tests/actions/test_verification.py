"""Identity checks the hub reports (actions/verification.py): the interpreter's video check on the stub bank.

The hub posts ``verified`` true and ``verification_method`` video, then ``resume`` (`Conversation.hub_verified`);
the bank does not know about the check until the first bank action records it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk import Action

from actions.account import ActionCheckBalance, ActionRecentTransactions
from actions.backends import product
from actions.backends.clock import FakeClock
from actions.backends.stub import StubBankBackend
from actions.loan import ActionCheckCreditLimit, ActionLoanSchedule
from actions.verification import trusted_check
from tests.actions.conftest import DOMAIN, START, Conversation, run

FIGURES = {"total", "available", "max_loan", "balance", "amount", "outstanding", "principal"}
PAYLOAD = '/check_credit_limit{"verified": true, "verification_method": "video"}'


def _no_figures(result: Any) -> None:
    for message in result.messages:
        assert not FIGURES & set(message), f"{message['response']} shows a figure"


def _deaf(verified: bool | None = None) -> Conversation:
    return Conversation(customer="cust-deaf", verified=verified)


# -- the domain ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("slot", ["verified", "verification_method", "customer_id"])
def test_identity_slot_has_only_a_custom_mapping_so_no_message_can_fill_it(slot: str) -> None:
    assert DOMAIN["slots"][slot]["mappings"] == [{"type": "custom"}]  # no action, no from_entity / from_text
    assert DOMAIN["slots"]["verification_method"]["influence_conversation"] is False


# -- reading the hub's check ---------------------------------------------------------------------------------


def test_trusted_check_after_hub_events_is_the_video_check_at_the_hub_time() -> None:
    check = trusted_check(_deaf().hub_verified(at=START).say("我的额度", "check_credit_limit").tracker())

    assert check is not None
    assert (check.method, check.checked_at) == ("video", START)
    assert check.key.startswith("test-sender:verification_method:video:")


@pytest.mark.parametrize(
    "conversation",
    [
        pytest.param(Conversation(verified=True), id="sms-verified"),
        pytest.param(Conversation(verified=None), id="not-verified"),
        pytest.param(_deaf().hub_verified(method="phone_call"), id="unknown-method"),
        pytest.param(
            Conversation(verified=True).say(PAYLOAD, "check_credit_limit", verification_method="video"),
            id="customer-payload",
        ),
    ],
)
def test_trusted_check_without_the_hub_video_events_is_none(conversation: Conversation) -> None:
    assert trusted_check(conversation.tracker()) is None


def test_trusted_check_after_the_bot_unset_verified_is_none() -> None:
    conversation = _deaf().hub_verified().set(verified=None)  # e.g. the bank said the check expired

    assert trusted_check(conversation.tracker()) is None


# -- bank actions after the hub's check ----------------------------------------------------------------------


async def test_credit_limit_after_hub_video_check_records_it_and_shows_the_limit(
    bank: StubBankBackend, clock: FakeClock
) -> None:
    conversation = _deaf().hub_verified().say("我的额度多少", "check_credit_limit")
    clock.advance(timedelta(minutes=2))

    result = await run(ActionCheckCreditLimit(), conversation.tracker())

    assert result.responses == ["utter_credit_limit"]
    assert result.variables("utter_credit_limit")["total"] == "100,000.00"
    assert result.slots == {}
    (record,) = await bank.debug_verifications("cust-deaf")
    assert (record.method, record.verified_by, record.checked_at) == ("video", None, START)
    assert record.verified_until == START + product.VERIFICATION_TTL


async def test_hub_video_check_is_recorded_once_and_never_stretched(bank: StubBankBackend, clock: FakeClock) -> None:
    conversation = _deaf().hub_verified().say("我的余额", "check_balance")
    assert (await run(ActionCheckBalance(), conversation.tracker())).responses == ["utter_balance"]
    clock.advance(timedelta(minutes=20))
    assert (await run(ActionRecentTransactions(), conversation.tracker())).responses[0] == "utter_transactions_header"
    clock.advance(timedelta(minutes=11))  # 31 minutes after the check

    result = await run(ActionCheckBalance(), conversation.tracker())

    assert result.responses == ["utter_error_not_verified"]
    assert result.slots == {"verified": None}
    _no_figures(result)
    assert len(await bank.debug_verifications("cust-deaf")) == 1


async def test_hub_video_check_older_than_30_minutes_asks_to_verify_again(
    bank: StubBankBackend, clock: FakeClock
) -> None:
    conversation = _deaf().hub_verified().say("我的额度多少", "check_credit_limit")
    clock.advance(product.VERIFICATION_TTL + timedelta(seconds=1))

    result = await run(ActionCheckCreditLimit(), conversation.tracker())

    assert result.responses == ["utter_error_not_verified"]
    assert result.slots == {"verified": None}
    _no_figures(result)
    assert await bank.debug_verifications("cust-deaf") == []


async def test_hub_video_check_on_a_bank_verified_customer_records_nothing(verified_bank: StubBankBackend) -> None:
    result = await run(ActionCheckCreditLimit(), _deaf().hub_verified().tracker())

    assert result.responses == ["utter_credit_limit"]
    assert await verified_bank.debug_verifications("cust-deaf") == []


async def test_sms_verified_customer_records_no_video_check(verified_bank: StubBankBackend) -> None:
    result = await run(ActionCheckCreditLimit(), _deaf(verified=True).tracker())

    assert result.responses == ["utter_credit_limit"]
    assert await verified_bank.debug_verifications("cust-deaf") == []


# -- without the hub's check ---------------------------------------------------------------------------------

BANK_ACTIONS = [ActionCheckCreditLimit(), ActionLoanSchedule(), ActionCheckBalance(), ActionRecentTransactions()]


@pytest.mark.parametrize("action", BANK_ACTIONS, ids=lambda action: action.name())
async def test_unverified_customer_without_hub_check_never_sees_a_figure(bank: StubBankBackend, action: Action) -> None:
    result = await run(action, _deaf().say("我的额度多少", "check_credit_limit").tracker())

    assert result.responses == ["utter_verify_first"]
    _no_figures(result)
    assert await bank.debug_verifications("cust-deaf") == []


@pytest.mark.parametrize("action", BANK_ACTIONS, ids=lambda action: action.name())
async def test_customer_payload_cannot_claim_a_video_check(bank: StubBankBackend, action: Action) -> None:
    conversation = _deaf().say(PAYLOAD, "check_credit_limit", verified=True, verification_method="video")

    result = await run(action, conversation.tracker())

    assert result.responses == ["utter_verify_first"]
    _no_figures(result)
    assert await bank.debug_verifications("cust-deaf") == []


async def test_customer_payload_cannot_renew_an_expired_sms_check_as_video(bank: StubBankBackend) -> None:
    conversation = _deaf(verified=True).say(PAYLOAD, "check_credit_limit", verification_method="video")

    result = await run(ActionCheckCreditLimit(), conversation.tracker())  # the bank: not verified

    assert result.responses == ["utter_error_not_verified"]
    _no_figures(result)
    assert await bank.debug_verifications("cust-deaf") == []
