"""The conversation state machine: one status column, idempotent transitions, persisted before announced."""

from __future__ import annotations

import pytest

from hub.exceptions import ConversationNotFound, InvalidTransition
from hub.services import Hub
from hub.services.events import Audience
from hub.services.rasa import RecordingTrackerSync
from tests.hub.conftest import add_agent, queue_customer


def test_new_conversation_starts_with_the_bot(hub: Hub) -> None:
    conversation = hub.customers.start("cust-good")
    assert conversation.status == "bot"
    assert conversation.customer_id == "cust-good"
    assert hub.conversations.get(conversation.id).status == "bot"


def test_get_unknown_conversation_raises_not_found(hub: Hub) -> None:
    with pytest.raises(ConversationNotFound) as error:
        hub.conversations.get("no-such-conversation")
    assert error.value.status_code == 404
    assert error.value.code == "conversation_not_found"


def test_enqueue_persists_queued_status_and_pauses_rasa(hub: Hub, tracker: RecordingTrackerSync) -> None:
    conversation = hub.customers.start(None)
    transition = hub.conversations.enqueue(
        conversation.id, reason="complaint", queue="human", skill="complaint", context={"reason": "complaint"}
    )
    assert transition.changed
    stored = hub.conversations.get(conversation.id)
    assert (stored.status, stored.queue, stored.skill) == ("queued", "human", "complaint")
    assert tracker.events == [(conversation.id, "pause")]
    handoff = hub.conversations.handoff(stored)
    assert handoff is not None and handoff.context == {"reason": "complaint"} and handoff.places == 1


def test_enqueue_twice_is_a_noop(hub: Hub, tracker: RecordingTrackerSync) -> None:
    conversation_id = queue_customer(hub)
    again = hub.conversations.enqueue(conversation_id, reason="fallback", queue="human", skill="loan", context={})
    assert not again.changed
    assert tracker.events == [(conversation_id, "pause")]
    with hub.store.transaction() as tx:
        assert len(tx.conversation_handoffs(conversation_id)) == 1


def test_assign_from_bot_raises_invalid_transition_naming_the_status(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    conversation = hub.customers.start(None)
    with pytest.raises(InvalidTransition) as error:
        hub.conversations.assign(conversation.id, "a1")
    assert error.value.status_code == 409
    assert error.value.current == "bot"
    assert "bot" in error.value.message


def test_assign_twice_to_the_same_agent_is_a_noop(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    conversation_id = queue_customer(hub)
    assert hub.conversations.assign(conversation_id, "a1").changed
    assert not hub.conversations.assign(conversation_id, "a1").changed


def test_second_agent_cannot_take_an_assigned_conversation(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    add_agent(hub, "a2", presence="away")
    conversation_id = queue_customer(hub)
    hub.conversations.assign(conversation_id, "a1")
    with pytest.raises(InvalidTransition):
        hub.conversations.assign(conversation_id, "a2")
    assert hub.conversations.get(conversation_id).agent_id == "a1"


def test_resolve_closes_asks_for_a_rating_and_resumes_rasa(hub: Hub, tracker: RecordingTrackerSync) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    assert hub.conversations.get(conversation_id).agent_id == "a1"  # auto-assigned
    transition = hub.conversations.resolve(conversation_id, "a1", "resolved")
    assert transition.conversation.status == "closed"
    assert tracker.events == [(conversation_id, "pause"), (conversation_id, "resume")]
    last = hub.conversations.messages_after(conversation_id, 0, include_notes=False)[-1]
    assert last.kind == "rating_request"
    assert last.data["handoff_id"] == transition.conversation.handoff_id
    assert not hub.conversations.resolve(conversation_id, "a1", "resolved").changed


def test_reopen_after_resolve_returns_to_the_bot(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    hub.conversations.resolve(conversation_id, "a1", "resolved")
    assert hub.conversations.reopen(conversation_id).conversation.status == "bot"
    assert not hub.conversations.reopen(conversation_id).changed


def test_dequeue_returns_a_waiting_customer_to_the_bot(hub: Hub, tracker: RecordingTrackerSync) -> None:
    add_agent(hub, "a1", presence="away")
    conversation_id = queue_customer(hub)
    hub.conversations.dequeue(conversation_id, "cancelled")
    conversation = hub.conversations.get(conversation_id)
    assert (conversation.status, conversation.queue) == ("bot", None)
    assert tracker.events[-1] == (conversation_id, "resume")
    handoff = hub.conversations.handoff(conversation)
    assert handoff is not None and handoff.outcome == "cancelled"


def test_post_with_the_same_client_msg_id_returns_the_original(hub: Hub) -> None:
    conversation = hub.customers.start(None)
    first, duplicate = hub.customers.send(conversation.id, "你好", client_msg_id="c-1")
    again, duplicate_again = hub.customers.send(conversation.id, "你好", client_msg_id="c-1")
    assert (duplicate, duplicate_again) == (False, True)
    assert again.seq == first.seq
    assert [m.text for m in hub.conversations.messages_after(conversation.id, 0, include_notes=True)] == ["你好"]


def test_sequence_numbers_are_contiguous_per_conversation(hub: Hub) -> None:
    one, two = hub.customers.start(None), hub.customers.start(None)
    for index in range(3):
        hub.customers.send(one.id, f"一 {index}")
        hub.customers.send(two.id, f"二 {index}")
    assert [m.seq for m in hub.conversations.messages_after(one.id, 0, include_notes=True)] == [1, 2, 3]
    assert [m.seq for m in hub.conversations.messages_after(two.id, 1, include_notes=True)] == [2, 3]


def test_notes_are_hidden_from_the_customer_stream(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    hub.desk.note("a1", conversation_id, "客户情绪激动，注意安抚", client_msg_id="n-1")
    kinds = [m.kind for m in hub.conversations.messages_after(conversation_id, 0, include_notes=False)]
    assert "note" not in kinds
    notes = [m for m in hub.conversations.messages_after(conversation_id, 0, include_notes=True) if m.kind == "note"]
    assert [n.text for n in notes] == ["客户情绪激动，注意安抚"]


async def test_transition_is_announced_to_watchers_after_commit(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    conversation = hub.customers.start(None)
    subscription = hub.bus.subscribe(Audience.CUSTOMER)
    subscription.watch(conversation.id)
    await subscription.next_batch()  # the initial "read what is stored" nudge
    hub.conversations.enqueue(conversation.id, reason="fallback", queue="human", skill="loan", context={})
    batch = await subscription.next_batch()
    assert conversation.id in batch.conversations
    state = next(f for f in batch.frames if f["type"] == "state")
    assert state["status"] == "queued"
    subscription.close()
