"""Incoming handoff packets: routing by reason, business hours, staffing, validation."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from hub.exceptions import ConversationNotFound, ValidationFailed
from hub.services import Hub
from hub.services.clock import FakeClock
from hub.services.handoffs import parse_handoff_request
from tests.hub.conftest import add_agent


def packet(conversation_id: str, reason: str = "explicit_request", **extra: Any) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "reason": reason,
        "transcript": [{"sender": "customer", "text": "转人工"}],
        "last_intent": {"name": "request_human", "confidence": 0.97},
        "slots": {"verified": False},
        "kb_candidates": [],
        **extra,
    }


def test_handoff_queues_the_customer_and_reports_the_position(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    conversation = hub.customers.start("cust-good")
    outcome = hub.handoffs.request(parse_handoff_request(packet(conversation.id, queue="human", skill="loan")))
    assert outcome.to_dict() == {
        "status": "queued",
        "queue": "human",
        "skill": "loan",
        "reason": None,
        "ahead": 0,
        "wait_minutes": 3,
        "agent_name": None,
    }
    handoff = hub.conversations.handoff(hub.conversations.get(conversation.id))
    assert handoff is not None and handoff.context["last_intent"] == {"name": "request_human", "confidence": 0.97}


def test_handoff_is_idempotent(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    conversation = hub.customers.start(None)
    request = parse_handoff_request(packet(conversation.id))
    hub.handoffs.request(request)
    assert hub.handoffs.request(request).status == "queued"
    assert len(hub.queues.positions("human")) == 1


def test_handoff_with_an_online_agent_is_assigned_at_once(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation = hub.customers.start(None)
    outcome = hub.handoffs.request(parse_handoff_request(packet(conversation.id)))
    assert (outcome.status, outcome.agent_name) == ("agent", "A1")


def test_complaint_goes_to_the_complaint_skill(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    conversation = hub.customers.start(None)
    outcome = hub.handoffs.request(parse_handoff_request(packet(conversation.id, "complaint")))
    assert (outcome.queue, outcome.skill) == ("human", "complaint")


def test_sign_language_goes_to_the_interpreter_queue(hub: Hub) -> None:
    add_agent(hub, "i1", presence="away", skills=("interpreter",))
    conversation = hub.customers.start("cust-deaf")
    outcome = hub.handoffs.request(parse_handoff_request(packet(conversation.id, "sign_language")))
    assert (outcome.status, outcome.queue, outcome.skill) == ("queued", "sign_language", "interpreter")


def test_handoff_after_hours_offers_a_ticket_and_stays_with_the_bot(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    clock.set(datetime(2024, 5, 6, 15, 0, tzinfo=timezone.utc))  # 23:00 in Shanghai
    conversation = hub.customers.start(None)
    outcome = hub.handoffs.request(parse_handoff_request(packet(conversation.id)))
    assert (outcome.status, outcome.reason) == ("unavailable", "after_hours")
    assert hub.conversations.get(conversation.id).status == "bot"
    offer = hub.conversations.messages_after(conversation.id, 0, include_notes=False)[-1]
    assert offer.kind == "ticket_offer" and "08:00–22:00" in offer.text


def test_sign_language_has_its_own_hours(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    add_agent(hub, "i1", presence="away", skills=("interpreter",))
    clock.set(datetime(2024, 5, 6, 11, 0, tzinfo=timezone.utc))  # 19:00: humans yes, interpreters no
    conversation = hub.customers.start(None)
    outcome = hub.handoffs.request(parse_handoff_request(packet(conversation.id, "sign_language")))
    assert (outcome.status, outcome.reason) == ("unavailable", "after_hours")
    outcome = hub.handoffs.request(parse_handoff_request(packet(conversation.id)))
    assert outcome.status == "queued"


def test_handoff_with_nobody_staffed_offers_a_ticket(hub: Hub) -> None:
    add_agent(hub, "a1", presence="offline")
    conversation = hub.customers.start(None)
    outcome = hub.handoffs.request(parse_handoff_request(packet(conversation.id)))
    assert (outcome.status, outcome.reason) == ("unavailable", "no_agents")


def test_handoff_for_an_unknown_conversation_is_not_found(hub: Hub) -> None:
    with pytest.raises(ConversationNotFound):
        hub.handoffs.request(parse_handoff_request(packet("nobody")))


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"reason": "explicit_request"},
        {"conversation_id": "c", "reason": "bored"},
        {"conversation_id": "c", "queue": "vip"},
        {"conversation_id": "c", "queue": "sign_language", "skill": "loan"},
        {"conversation_id": "c", "transcript": "not a list"},
    ],
)
def test_malformed_handoff_packets_are_rejected(body: Any) -> None:
    with pytest.raises(ValidationFailed):
        parse_handoff_request(body)
