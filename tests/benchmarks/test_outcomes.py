"""Classifying a bot turn from tracker events, handoff packets and FAQ answers."""

from __future__ import annotations

from typing import Any

from benchmarks.outcomes import classify, coarse, is_answer, kind_of

ANSWERS = {"提前还款不收任何费用。": "early-002"}


def user(intent: str) -> dict[str, Any]:
    return {"event": "user", "text": "…", "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def bot(text: str, response: str | None = None) -> dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": {"utter_action": response} if response else {}}


def test_an_faq_answer_is_recognised_by_its_text() -> None:
    events = [user("faq"), action("action_answer_faq"), bot("提前还款不收任何费用。"), action("action_listen")]
    assert classify(events, [], ANSWERS) == "faq early-002"


def test_only_the_latest_turn_counts() -> None:
    events = [user("faq"), bot("提前还款不收任何费用。"), user("greet"), bot("您好", "utter_greet")]
    assert classify(events, [], ANSWERS) == "intent greet"


def test_a_recorded_handoff_wins_with_its_reason() -> None:
    events = [user("complain"), action("action_handoff"), bot("正在为您转接", "utter_handoff_queued")]
    assert classify(events, ["complaint"], ANSWERS) == "handoff complaint"


def test_a_handoff_action_without_a_packet_is_a_handoff_of_unknown_reason() -> None:
    assert classify([user("request_human"), action("action_handoff")], [], ANSWERS) == "handoff unknown"


def test_clarify_and_declines() -> None:
    assert classify([user("faq"), bot("您想问的是", "utter_faq_clarify")], [], ANSWERS) == "clarify"
    assert classify([user("faq"), bot("没找到", "utter_faq_no_answer")], [], ANSWERS) == "out_of_scope"
    assert classify([user("out_of_scope"), bot("抱歉", "utter_out_of_scope")], [], ANSWERS) == "out_of_scope"
    fallback = [user("nlu_fallback"), action("action_default_fallback"), {"event": "rewind"}, bot("?", "utter_default")]
    assert classify(fallback, [], ANSWERS) == "out_of_scope"


def test_a_fallback_answered_from_the_knowledge_base_is_that_faq() -> None:
    events = [user("nlu_fallback"), action("action_default_fallback"), bot("提前还款不收任何费用。")]
    assert classify(events, [], ANSWERS) == "faq early-002"


def test_a_transaction_is_its_intent() -> None:
    events = [user("check_credit_limit"), action("verify_identity_form"), bot("请输入验证码", "utter_ask_otp_code")]
    assert classify(events, [], ANSWERS) == "intent check_credit_limit"


def test_label_helpers() -> None:
    assert kind_of("faq limit-001") == "faq" and kind_of("out_of_scope") == "out_of_scope"
    assert is_answer("intent greet") and not is_answer("clarify") and not is_answer("handoff fraud")
    assert coarse("faq limit-001") == "faq" and coarse("handoff fraud") == "handoff fraud"
