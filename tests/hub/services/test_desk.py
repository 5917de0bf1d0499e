"""Agent desk: writing, notes, transfer to an agent or a queue, resolve."""

from __future__ import annotations

import pytest

from hub.exceptions import AgentUnavailable, InvalidTransition, MessageTooLong, NotYourConversation, ValidationFailed
from hub.services import Hub
from hub.services.clock import FakeClock
from tests.hub.conftest import add_agent, queue_customer


def test_agent_message_reaches_the_customer_stream(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    message, duplicate = hub.desk.send("a1", conversation_id, "您好，我是客服", client_msg_id="a-1")
    assert not duplicate and message.sender == "agent" and message.data["agent_name"] == "A1"
    assert hub.conversations.messages_after(conversation_id, message.seq - 1, include_notes=False)[0].text == (
        "您好，我是客服"
    )


def test_agent_cannot_write_in_someone_elses_conversation(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    add_agent(hub, "a2")
    with pytest.raises(NotYourConversation):
        hub.desk.send("a2", conversation_id, "插话", client_msg_id=None)


def test_agent_message_over_2000_characters_is_refused(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    with pytest.raises(MessageTooLong):
        hub.desk.send("a1", conversation_id, "长" * 2001, client_msg_id=None)


def test_retry_of_an_agent_message_after_resolve_is_deduplicated(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    first, _ = hub.desk.send("a1", conversation_id, "再见", client_msg_id="a-9")
    hub.desk.resolve("a1", conversation_id, "resolved")
    again, duplicate = hub.desk.send("a1", conversation_id, "再见", client_msg_id="a-9")
    assert duplicate and again.seq == first.seq
    with pytest.raises(InvalidTransition):
        hub.desk.send("a1", conversation_id, "新消息", client_msg_id="a-10")


def test_transfer_to_an_agent_moves_the_conversation_and_leaves_a_note(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    add_agent(hub, "a2", presence="away")
    conversation = hub.desk.transfer("a1", conversation_id, to_agent="a2", note="客户要提前还款，已核实身份")
    assert (conversation.status, conversation.agent_id) == ("agent", "a2")
    messages = hub.conversations.messages_after(conversation_id, 0, include_notes=True)
    note = next(m for m in messages if m.kind == "note")
    assert note.text == "客户要提前还款，已核实身份" and note.data["to_agent"] == "a2"
    customer_view = hub.conversations.messages_after(conversation_id, 0, include_notes=False)
    assert "正在为您转接客服A2" in customer_view[-1].text


def test_transfer_to_an_offline_agent_is_refused(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    add_agent(hub, "gone", presence="offline")
    with pytest.raises(AgentUnavailable):
        hub.desk.transfer("a1", conversation_id, to_agent="gone")
    assert hub.conversations.get(conversation_id).agent_id == "a1"


def test_transfer_to_a_full_agent_is_refused(hub: Hub) -> None:
    add_agent(hub, "full", capacity=1)
    queue_customer(hub)
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    assert hub.conversations.get(conversation_id).agent_id == "a1"
    with pytest.raises(AgentUnavailable):
        hub.desk.transfer("a1", conversation_id, to_agent="full")


def test_transfer_to_a_queue_keeps_the_customers_place(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    transferred = queue_customer(hub)
    clock.advance(60)
    hub.desk.accept("a1", transferred)
    clock.advance(60)
    later = queue_customer(hub, reason="complaint", skill="complaint")
    conversation = hub.desk.transfer("a1", transferred, queue="human", skill="complaint", note="转投诉专席")
    assert (conversation.status, conversation.skill) == ("queued", "complaint")
    assert [p.conversation.id for p in hub.queues.positions("human")] == [transferred, later]


def test_transfer_needs_exactly_one_target(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    with pytest.raises(ValidationFailed):
        hub.desk.transfer("a1", conversation_id)
    with pytest.raises(ValidationFailed):
        hub.desk.transfer("a1", conversation_id, queue="human", skill="interpreter")


def test_resolve_requires_a_known_disposition(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    with pytest.raises(ValidationFailed):
        hub.desk.resolve("a1", conversation_id, "whatever")
    hub.desk.resolve("a1", conversation_id, "follow_up", note="明天回电")
    handoff = hub.conversations.handoff(hub.conversations.get(conversation_id))
    assert handoff is not None and (handoff.outcome, handoff.disposition) == ("resolved", "follow_up")


def test_detail_has_transcript_with_notes_and_the_context_packet(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub, reason="fraud", skill="account")
    hub.desk.note("a1", conversation_id, "疑似诈骗", client_msg_id=None)
    detail = hub.desk.detail(conversation_id)
    assert detail["conversation"]["status"] == "agent"
    assert detail["handoff"]["reason_label"] == "欺诈 / 挂失"
    assert detail["handoff"]["context"] == {"reason": "fraud"}
    assert [m["kind"] for m in detail["messages"]][-1] == "note"
