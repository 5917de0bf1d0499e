"""Outcome labels and how a bot turn is classified into one from what Rasa and the action server did.

A label is ``faq <id>`` (the bot answered with that FAQ), ``intent <name>`` (it understood the request and
went on with that intent: a transaction, small talk), ``handoff <reason>`` (a person takes over),
``out_of_scope`` (it said it cannot help: out-of-scope reply, fallback, no answer in the knowledge base) or
``clarify`` (it offered FAQs to choose from).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FAQ, INTENT, HANDOFF, OUT_OF_SCOPE, CLARIFY = "faq", "intent", "handoff", "out_of_scope", "clarify"
KINDS = (FAQ, INTENT, HANDOFF, OUT_OF_SCOPE, CLARIFY)
# Responses by which the bot declines: it has no answer and says so (not a handoff, not a wrong answer).
DECLINING_RESPONSES = frozenset(
    {"utter_out_of_scope", "utter_default", "utter_faq_no_answer", "utter_ask_rephrase", "utter_faq_unavailable"}
)
CLARIFY_RESPONSE = "utter_faq_clarify"
HANDOFF_ACTION = "action_handoff"
FALLBACK_ACTION = "action_default_fallback"


def kind_of(label: str) -> str:
    """``faq`` for ``faq limit-001``, ``out_of_scope`` for ``out_of_scope``."""
    return label.split(" ", 1)[0]


def is_handoff(label: str) -> bool:
    return kind_of(label) == HANDOFF


def is_answer(label: str) -> bool:
    """Whether the bot gave a substantive answer (an FAQ or a flow), which can be right or wrong."""
    return kind_of(label) in (FAQ, INTENT)


def coarse(label: str) -> str:
    """The label without the FAQ id or intent name (kept for handoffs, whose reason matters)."""
    kind = kind_of(label)
    return label if kind == HANDOFF else kind


def turn_events(events: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]:
    """The tracker's last ``user`` event and every event after it."""
    for position in range(len(events) - 1, -1, -1):
        if events[position].get("event") == "user":
            return events[position], list(events[position + 1 :])
    return None, list(events)


def classify(
    events: Sequence[Mapping[str, Any]],
    handoff_reasons: Sequence[str],
    faq_by_answer: Mapping[str, str],
) -> str:
    """The outcome label of the customer's latest turn.

    Args:
        events: The conversation's tracker events (Rasa's ``/conversations/<id>/tracker``).
        handoff_reasons: Reasons of the handoff packets the action server sent during this turn.
        faq_by_answer: FAQ id by answer text (the bot sends an FAQ's answer verbatim).
    """
    user, after = turn_events(events)
    if handoff_reasons:
        return f"{HANDOFF} {handoff_reasons[-1]}"
    actions = [str(event.get("name")) for event in after if event.get("event") == "action"]
    if HANDOFF_ACTION in actions:
        return f"{HANDOFF} unknown"  # the packet never arrived: the handoff failed, but a person was asked for
    bot_events = [event for event in after if event.get("event") == "bot"]
    for event in bot_events:
        faq_id = faq_by_answer.get(str(event.get("text") or "").strip())
        if faq_id is not None:
            return f"{FAQ} {faq_id}"
    responses = {str((event.get("metadata") or {}).get("utter_action")) for event in bot_events}
    if CLARIFY_RESPONSE in responses:
        return CLARIFY
    if responses & DECLINING_RESPONSES or FALLBACK_ACTION in actions:
        return OUT_OF_SCOPE
    intent = ((user or {}).get("parse_data") or {}).get("intent") or {}
    name = intent.get("name")
    if name in (None, "", "nlu_fallback", "out_of_scope"):
        return OUT_OF_SCOPE
    return f"{INTENT} {name}"
