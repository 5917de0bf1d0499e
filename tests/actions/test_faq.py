"""actions/faq.py on saved trackers (tests/actions/trackers/*.json) with a tiny knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import faq
from knowledge_base.decision import Candidate, DecisionKind
from knowledge_base.exceptions import IndexUnavailableError
from knowledge_base.service import Decision, KnowledgeBase
from tests.knowledge_base.tiny import build_tiny_model, tiny_settings

TRACKERS = Path(__file__).parent / "trackers"


def saved_tracker(name: str) -> Tracker:
    return Tracker.from_dict(json.loads((TRACKERS / f"{name}.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def tiny_knowledge_base(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("kb")
    return KnowledgeBase.open(tiny_settings(root, build_tiny_model(root / "tiny")))


@pytest.fixture(autouse=True)
def use_tiny_knowledge_base(tiny_knowledge_base: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faq, "knowledge_base", lambda: tiny_knowledge_base)


async def run(action: Any, tracker_name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, saved_tracker(tracker_name), {})
    return events, dispatcher.messages


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}


async def test_answer_faq_known_question_answers_with_text_and_buttons() -> None:
    events, messages = await run(faq.ActionAnswerFaq(), "faq_known_question")

    [message] = messages
    assert message["text"] == "额度由银行评估，保持按时还款有助于提升。"
    assert message["buttons"] == [
        {"title": "查询额度", "payload": "/check_credit_limit"},
        {"title": "逾期会怎样", "payload": '/faq{"faq_id":"overdue-001"}'},
    ]
    assert slots(events)["faq_misses"] == 0
    assert slots(events)["kb_candidates"][0]["faq_id"] == "limit-001"


async def test_answer_faq_clarify_button_answers_the_chosen_faq() -> None:
    _, messages = await run(faq.ActionAnswerFaq(), "faq_clarify_choice")

    assert [message["text"] for message in messages] == ["授信额度 500 元至 20 万元。"]


async def test_answer_faq_button_of_removed_faq_says_it_changed() -> None:
    events, messages = await run(faq.ActionAnswerFaq(), "faq_removed_choice")

    assert [message["response"] for message in messages] == ["utter_faq_outdated"]
    assert events == []


async def test_answer_faq_first_miss_says_no_answer_and_counts() -> None:
    events, messages = await run(faq.ActionAnswerFaq(), "faq_unrelated_first")

    assert [message["response"] for message in messages] == ["utter_faq_no_answer"]
    assert slots(events)["faq_misses"] == 1
    assert slots(events)["handoff_reason"] == "kb_no_answer"
    assert len(slots(events)["kb_candidates"]) == 3


async def test_answer_faq_second_miss_in_a_row_hands_off() -> None:
    events, messages = await run(faq.ActionAnswerFaq(), "faq_unrelated_second")

    assert messages == []
    assert slots(events)["handoff_reason"] == "kb_no_answer"
    assert slots(events)["faq_misses"] == 0
    assert events[-1] == FollowupAction("action_handoff")


async def test_answer_faq_close_candidates_clarify_with_selecting_buttons(monkeypatch: pytest.MonkeyPatch) -> None:
    class Clarifying:
        def decide(self, question: str) -> Decision:
            options = (Candidate("limit-001", "怎么提高额度？", 0.88), Candidate("limit-002", "额度最高是多少？", 0.87))
            return Decision(DecisionKind.CLARIFY, None, options)

    monkeypatch.setattr(faq, "knowledge_base", lambda: Clarifying())

    events, messages = await run(faq.ActionAnswerFaq(), "faq_known_question")

    [message] = messages
    assert message["response"] == "utter_faq_clarify"
    assert message["buttons"] == [
        {"title": "怎么提高额度？", "payload": '/faq{"faq_id":"limit-001"}'},
        {"title": "额度最高是多少？", "payload": '/faq{"faq_id":"limit-002"}'},
    ]
    assert "faq_misses" not in slots(events)


async def test_answer_faq_knowledge_base_unavailable_hands_off(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> KnowledgeBase:
        raise IndexUnavailableError("no index")

    monkeypatch.setattr(faq, "knowledge_base", unavailable)

    events, messages = await run(faq.ActionAnswerFaq(), "faq_known_question")

    assert [message["response"] for message in messages] == ["utter_faq_unavailable"]
    assert events == [SlotSet("handoff_reason", "kb_unavailable"), FollowupAction("action_handoff")]


async def test_default_fallback_confident_knowledge_base_answers() -> None:
    events, messages = await run(faq.ActionDefaultFallback(), "fallback_known_question")

    assert [message["text"] for message in messages] == ["逾期会计收罚息并报送征信。"]
    assert events[0] == UserUtteranceReverted()
    assert slots(events)["fallback_count"] == 0


async def test_default_fallback_first_miss_utters_default_and_counts() -> None:
    events, messages = await run(faq.ActionDefaultFallback(), "fallback_unrelated_first")

    assert [message["response"] for message in messages] == ["utter_default"]
    assert events[0] == UserUtteranceReverted()
    assert slots(events)["fallback_count"] == 1


async def test_default_fallback_second_in_a_row_hands_off_with_reason_fallback() -> None:
    events, messages = await run(faq.ActionDefaultFallback(), "fallback_unrelated_second")

    assert messages == []
    assert slots(events)["handoff_reason"] == "fallback"
    assert slots(events)["fallback_count"] == 0
    assert events[-1] == FollowupAction("action_handoff")


async def test_default_fallback_knowledge_base_unavailable_still_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> KnowledgeBase:
        raise IndexUnavailableError("no index")

    monkeypatch.setattr(faq, "knowledge_base", unavailable)

    _, messages = await run(faq.ActionDefaultFallback(), "fallback_unrelated_first")

    assert [message["response"] for message in messages] == ["utter_default"]


def test_shared_knowledge_base_is_opened_once_and_checked_for_reloads(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[int] = []
    checks: list[int] = []

    class Opened:
        def reload_if_stale(self) -> bool:
            checks.append(1)
            return False

    def open_once() -> Opened:
        opened.append(1)
        return Opened()

    monkeypatch.setattr(faq.KnowledgeBase, "open", staticmethod(open_once))
    monkeypatch.setattr(faq, "RELOAD_CHECK_SECONDS", 0.0)
    shared = faq._SharedKnowledgeBase()

    first, second, third = shared.get(), shared.get(), shared.get()

    assert first is second is third
    assert (len(opened), len(checks)) == (1, 2)
