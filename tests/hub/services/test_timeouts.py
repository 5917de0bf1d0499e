"""Presence and queue timeouts, driven by a fake clock and one sweep."""

from __future__ import annotations

from hub.services import Hub
from hub.services.clock import FakeClock
from hub.services.events import Audience
from hub.services.presence import PRESENCE_TIMEOUT
from hub.services.sweeper import CUSTOMER_ABANDON_AFTER, QUEUE_TICKET_OFFER_AFTER
from tests.hub.conftest import add_agent, queue_customer


def test_silent_agent_goes_offline_and_their_customers_return_to_the_queue(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    add_agent(hub, "a2", presence="away")
    clock.advance(PRESENCE_TIMEOUT.total_seconds() - 1)
    hub.presence.heartbeat("a2")
    clock.advance(2)
    report = hub.sweeper.sweep()
    assert report.agents_offline == ["a1"]
    conversation = hub.conversations.get(conversation_id)
    assert conversation.status == "queued"
    assert hub.accounts.get("a2") is not None and hub.accounts.get("a2").presence == "away"  # type: ignore[union-attr]


def test_heartbeat_keeps_an_agent_present(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1")
    for _ in range(5):
        clock.advance(PRESENCE_TIMEOUT.total_seconds() / 2)
        hub.presence.heartbeat("a1")
        assert hub.sweeper.sweep().agents_offline == []


def test_requeued_customer_goes_to_the_next_online_agent(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", capacity=1)
    conversation_id = queue_customer(hub)
    add_agent(hub, "a2")
    hub.presence.set("a1", "offline")
    assert hub.conversations.get(conversation_id).agent_id == "a2"


def test_long_wait_offers_a_ticket_once(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    conversation_id = queue_customer(hub)
    subscription = hub.bus.subscribe(Audience.CUSTOMER)
    subscription.watch(conversation_id)  # the customer is connected
    clock.advance(QUEUE_TICKET_OFFER_AFTER.total_seconds() - 1)
    hub.presence.heartbeat("a1")
    assert hub.sweeper.sweep().ticket_offers == []
    clock.advance(1)
    assert hub.sweeper.sweep().ticket_offers == [conversation_id]
    assert hub.sweeper.sweep().ticket_offers == []
    offers = [
        m for m in hub.conversations.messages_after(conversation_id, 0, include_notes=False) if m.kind == "ticket_offer"
    ]
    assert len(offers) == 1 and offers[0].data["reason"] == "long_wait"
    assert hub.conversations.get(conversation_id).status == "queued"  # they may keep waiting
    subscription.close()


def test_queued_customer_with_nobody_staffed_is_offered_a_ticket(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    conversation_id = queue_customer(hub)
    subscription = hub.bus.subscribe(Audience.CUSTOMER)
    subscription.watch(conversation_id)
    hub.presence.set("a1", "offline")
    assert hub.sweeper.sweep().ticket_offers == [conversation_id]
    subscription.close()


def test_disconnected_queued_customer_is_dequeued_after_the_abandon_timeout(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    gone = queue_customer(hub)
    present = queue_customer(hub)
    subscription = hub.bus.subscribe(Audience.CUSTOMER)
    subscription.watch(present)
    hub.customers.disconnected(gone)
    clock.advance(CUSTOMER_ABANDON_AFTER.total_seconds() - 1)
    hub.presence.heartbeat("a1")
    assert hub.sweeper.sweep().abandoned == []
    clock.advance(1)
    hub.presence.heartbeat("a1")
    assert hub.sweeper.sweep().abandoned == [gone]
    assert hub.conversations.get(gone).status == "bot"
    assert hub.conversations.get(present).status == "queued"
    assert hub.queues.position(present) is not None and hub.queues.position(present).ahead == 0  # type: ignore[union-attr]
    subscription.close()
