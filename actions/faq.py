"""FAQ answers from the knowledge base, and the fallback that tries the knowledge base before giving up.

``action_answer_faq`` runs for the ``faq`` intent and for the clarify buttons (``/faq{"faq_id":"limit-001"}``):

* answer  → the FAQ's answer text and follow-up buttons (knowledge-base data, so not a domain response);
* clarify → ``utter_faq_clarify`` with the top three FAQs as buttons that select one of them;
* no answer → ``utter_faq_no_answer``; the second in a row hands the customer to a person
  (``handoff_reason=kb_no_answer``, candidates in ``kb_candidates`` for the agent).

``action_default_fallback`` (Rasa's low-confidence fallback) asks the knowledge base about the raw text first,
answers if it is confident, else says ``utter_default``; the second fallback in a row hands off with
``handoff_reason=fallback``.

The knowledge base is opened once per action-server process and reloaded when the index on disk changes.
Questions either action clarifies or cannot answer go to the trainers' inbox in the hub (``actions/unanswered.py``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.unanswered import report_unanswered
from knowledge_base.decision import DecisionKind
from knowledge_base.exceptions import KnowledgeBaseError
from knowledge_base.schema import Faq
from knowledge_base.service import Decision, KnowledgeBase

logger = logging.getLogger(__name__)

ACTION_HANDOFF = "action_handoff"
MISSES_BEFORE_HANDOFF = 2  # two unanswered questions in a row: the customer needs a person, not a third try
RELOAD_CHECK_SECONDS = 5.0  # a rebuild elsewhere reaches the bot within 5 s; each check is one readlink + stat

SLOT_FAQ_MISSES = "faq_misses"
SLOT_FALLBACK_COUNT = "fallback_count"
SLOT_KB_CANDIDATES = "kb_candidates"
SLOT_HANDOFF_REASON = "handoff_reason"
REASON_NO_ANSWER = "kb_no_answer"
REASON_FALLBACK = "fallback"
REASON_UNAVAILABLE = "kb_unavailable"


class _SharedKnowledgeBase:
    """The process's one knowledge base, opened on first use and reloaded when the index on disk changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._knowledge_base: KnowledgeBase | None = None
        self._checked_at = 0.0

    def get(self) -> KnowledgeBase:
        with self._lock:
            if self._knowledge_base is None:
                self._knowledge_base = KnowledgeBase.open()
                self._checked_at = time.monotonic()
            elif time.monotonic() - self._checked_at >= RELOAD_CHECK_SECONDS:
                self._checked_at = time.monotonic()
                try:
                    self._knowledge_base.reload_if_stale()
                except KnowledgeBaseError:  # keep answering from the index in memory
                    logger.exception("could not reload the knowledge base; the loaded index stays in use")
            return self._knowledge_base


_shared = _SharedKnowledgeBase()


def knowledge_base() -> KnowledgeBase:
    """The action server's knowledge base (tests replace this function)."""
    return _shared.get()


def _lookup(faq_id: str | None, text: str) -> Decision | None:
    """The decision for a chosen FAQ or a question; None when the chosen FAQ no longer exists."""
    found = knowledge_base()
    if faq_id:
        faq = found.faq(faq_id)
        return Decision(DecisionKind.ANSWER, faq) if faq is not None else None
    return found.decide(text)


def faq_buttons(faq: Faq) -> list[dict[str, str]]:
    """An answer's follow-up buttons as Rasa buttons."""
    return [{"title": button.title, "payload": button.payload} for button in faq.buttons]


def select_payload(faq_id: str) -> str:
    """The payload of a button that selects an FAQ (handled by ``action_answer_faq``)."""
    return f'/faq{{"faq_id":"{faq_id}"}}'


def utter_answer(dispatcher: CollectingDispatcher, faq: Faq) -> None:
    """Sends an FAQ's answer with its buttons."""
    dispatcher.utter_message(text=faq.answer, buttons=faq_buttons(faq))


def _count(tracker: Tracker, slot: str) -> int:
    value = tracker.get_slot(slot)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


class ActionAnswerFaq(Action):
    """Answers, clarifies or admits it has no answer, from the knowledge base."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        selected = next(tracker.get_latest_entity_values("faq_id"), None)
        text = tracker.latest_message.get("text") or ""
        try:  # in a worker thread: embedding takes tens of milliseconds, loading the model seconds
            decision = await asyncio.to_thread(_lookup, str(selected) if selected else None, text)
        except KnowledgeBaseError:
            logger.exception("the knowledge base cannot answer")
            dispatcher.utter_message(response="utter_faq_unavailable")
            return [SlotSet(SLOT_HANDOFF_REASON, REASON_UNAVAILABLE), FollowupAction(ACTION_HANDOFF)]
        if decision is None:  # a button from before its FAQ was removed
            dispatcher.utter_message(response="utter_faq_outdated")
            return []

        candidates = SlotSet(SLOT_KB_CANDIDATES, decision.candidates_as_dicts())
        if decision.kind is DecisionKind.ANSWER and decision.faq is not None:
            utter_answer(dispatcher, decision.faq)
            return [candidates, SlotSet(SLOT_FAQ_MISSES, 0), SlotSet(SLOT_FALLBACK_COUNT, 0)]
        if decision.kind is DecisionKind.CLARIFY:
            buttons = [{"title": c.question, "payload": select_payload(c.faq_id)} for c in decision.candidates]
            dispatcher.utter_message(response="utter_faq_clarify", buttons=buttons)
            await report_unanswered(tracker, "clarify", decision.candidates_as_dicts())  # the trainers' inbox
            return [candidates]
        await report_unanswered(tracker, "no_answer", decision.candidates_as_dicts())
        misses = _count(tracker, SLOT_FAQ_MISSES) + 1
        if misses >= MISSES_BEFORE_HANDOFF:
            return [
                candidates,
                SlotSet(SLOT_HANDOFF_REASON, REASON_NO_ANSWER),
                SlotSet(SLOT_FAQ_MISSES, 0),
                FollowupAction(ACTION_HANDOFF),
            ]
        dispatcher.utter_message(response="utter_faq_no_answer")
        return [candidates, SlotSet(SLOT_HANDOFF_REASON, REASON_NO_ANSWER), SlotSet(SLOT_FAQ_MISSES, misses)]


class ActionDefaultFallback(Action):
    """Rasa's fallback: the knowledge base gets a chance at the raw text before ``utter_default``."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        try:
            decision = await asyncio.to_thread(_lookup, None, text) or Decision(DecisionKind.NO_ANSWER)
        except KnowledgeBaseError:
            logger.exception("the knowledge base cannot answer; falling back")
            decision = Decision(DecisionKind.NO_ANSWER)
        # The message is reverted, as Rasa's own fallback does, so the dialogue policies see no turn they
        # cannot place; the slots set after the revert are kept.
        events: list[EventType] = [UserUtteranceReverted(), SlotSet(SLOT_KB_CANDIDATES, decision.candidates_as_dicts())]
        if decision.kind is DecisionKind.ANSWER and decision.faq is not None:
            utter_answer(dispatcher, decision.faq)
            return [*events, SlotSet(SLOT_FALLBACK_COUNT, 0), SlotSet(SLOT_FAQ_MISSES, 0)]
        await report_unanswered(tracker, "fallback", decision.candidates_as_dicts())  # the trainers' inbox
        count = _count(tracker, SLOT_FALLBACK_COUNT) + 1
        if count >= MISSES_BEFORE_HANDOFF:
            return [
                *events,
                SlotSet(SLOT_HANDOFF_REASON, REASON_FALLBACK),
                SlotSet(SLOT_FALLBACK_COUNT, 0),
                FollowupAction(ACTION_HANDOFF),
            ]
        dispatcher.utter_message(response="utter_default")
        return [*events, SlotSet(SLOT_FALLBACK_COUNT, count)]
