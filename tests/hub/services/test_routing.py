"""Routing: longest-waiting customer → least-loaded eligible online agent; capacity; accept next."""

from __future__ import annotations

import pytest

from hub.exceptions import AgentAtCapacity, NotEligible, QueueEmpty
from hub.services import Hub
from hub.services.clock import FakeClock
from tests.hub.conftest import add_agent, queue_customer


def test_dispatch_gives_the_longest_waiting_customer_to_the_least_loaded_agent(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "busy", capacity=3)
    held = queue_customer(hub)
    assert hub.conversations.get(held).agent_id == "busy"
    hub.presence.set("busy", "away")
    first = queue_customer(hub)
    clock.advance(5)
    second = queue_customer(hub)
    hub.presence.set("busy", "online")  # busy (1 chat) takes the first waiting
    assert hub.conversations.get(first).agent_id == "busy"
    assert hub.conversations.get(second).agent_id == "busy"
    add_agent(hub, "idle", capacity=3)
    third = queue_customer(hub)
    assert hub.conversations.get(third).agent_id == "idle"  # busy has 3 chats, idle none


def test_dispatch_breaks_ties_by_longest_idle_agent(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1")
    add_agent(hub, "a2")
    first = queue_customer(hub)
    clock.advance(1)
    second = queue_customer(hub)
    assert {hub.conversations.get(first).agent_id, hub.conversations.get(second).agent_id} == {"a1", "a2"}


def test_dispatch_respects_capacity(hub: Hub) -> None:
    add_agent(hub, "a1", capacity=1)
    first = queue_customer(hub)
    second = queue_customer(hub)
    assert hub.conversations.get(first).status == "agent"
    assert hub.conversations.get(second).status == "queued"
    hub.desk.resolve("a1", first, "resolved")
    assert hub.conversations.get(second).agent_id == "a1"  # freed capacity is used at once


def test_dispatch_skips_customers_nobody_online_can_serve(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "loan_only", skills=("loan",))
    complaint = queue_customer(hub, reason="complaint", skill="complaint")
    clock.advance(1)
    loan = queue_customer(hub, skill="loan")
    assert hub.conversations.get(complaint).status == "queued"
    assert hub.conversations.get(loan).agent_id == "loan_only"


def test_sign_language_customers_go_only_to_interpreters(hub: Hub) -> None:
    add_agent(hub, "a1")
    add_agent(hub, "i1", skills=("interpreter",), capacity=1)
    conversation_id = queue_customer(hub, reason="sign_language", queue="sign_language", skill="interpreter")
    assert hub.conversations.get(conversation_id).agent_id == "i1"


def test_away_agent_gets_nothing_automatically_but_can_accept_next(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    first = queue_customer(hub)
    clock.advance(3)
    queue_customer(hub)
    assert hub.conversations.get(first).status == "queued"
    accepted = hub.desk.accept_next("a1")
    assert accepted.id == first and accepted.agent_id == "a1"


def test_accept_next_at_capacity_is_refused(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away", capacity=1)
    queue_customer(hub)
    queue_customer(hub)
    hub.desk.accept_next("a1")
    with pytest.raises(AgentAtCapacity) as error:
        hub.desk.accept_next("a1")
    assert error.value.status_code == 409


def test_accept_next_with_nobody_waiting_raises_queue_empty(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    with pytest.raises(QueueEmpty):
        hub.desk.accept_next("a1")


def test_accept_next_skips_customers_needing_another_skill(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away", skills=("loan",))
    queue_customer(hub, reason="complaint", skill="complaint")
    clock.advance(1)
    loan = queue_customer(hub, skill="loan")
    assert hub.desk.accept_next("a1").id == loan


def test_accepting_a_customer_without_the_skill_is_refused(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away", skills=("loan",))
    conversation_id = queue_customer(hub, reason="complaint", skill="complaint")
    with pytest.raises(NotEligible):
        hub.desk.accept("a1", conversation_id)
