"""Shared action pieces (actions/common.py): keys, tracker helpers, cancel, and the action server's view."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from actions.common import (
    FORM_SLOTS,
    ActionCancelForm,
    entity_value,
    form_run_key,
    latest_intent,
    latest_user_event,
)
from tests.actions.conftest import DOMAIN, Conversation, run

MY_DOMAIN_FILES = ("identity", "loan", "account")


def test_form_run_key_is_stable_for_one_run_and_new_for_the_next() -> None:
    conversation = Conversation(sender_id="abc").say("借钱", "apply_loan").start_form("loan_form")
    first_run = form_run_key(conversation.tracker(), "loan_form")
    conversation.say("5000", "inform")
    same_run = form_run_key(conversation.tracker(), "loan_form")
    conversation.start_form("loan_form")
    next_run = form_run_key(conversation.tracker(), "loan_form")

    assert first_run == same_run
    assert next_run != first_run
    assert first_run.startswith("abc:loan_form:")


def test_latest_user_event_finds_the_request_behind_later_answers() -> None:
    conversation = Conversation().say("最近十笔交易", "transactions", date="2025-03-01").say("123456", "inform")
    tracker = conversation.tracker()

    request = latest_user_event(tracker, ["transactions"])

    assert request is not None and request["text"] == "最近十笔交易"
    assert entity_value(request, "date") == "2025-03-01"
    assert entity_value(request, "amount") is None
    assert latest_intent(tracker) == "inform"
    assert latest_user_event(tracker, ["bind_card"]) is None


async def test_cancel_form_says_cancelled_and_clears_every_form() -> None:
    result = await run(ActionCancelForm(), Conversation().set(loan_amount=5000, card_number="6222").tracker())

    assert result.responses == ["utter_cancelled"]
    assert set(result.slots) == {slot for slots in FORM_SLOTS.values() for slot in slots}
    assert all(value is None for value in result.slots.values())


def test_every_form_slot_is_declared_in_the_domain() -> None:
    for slots in FORM_SLOTS.values():
        assert set(slots) <= set(DOMAIN["slots"])


def test_action_server_registers_every_domain_action_of_these_flows() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")

    custom = {name for name in DOMAIN["actions"] if name.startswith(("action_", "validate_"))}
    mine = custom - {"action_answer_faq", "action_handoff", "action_default_fallback"}
    assert mine <= set(executor.actions)
    forms_asked_by_actions = {name for name in executor.actions if name.startswith("action_ask_")}
    assert forms_asked_by_actions <= set(DOMAIN["actions"])
