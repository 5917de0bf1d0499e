"""Customer side: messages to the bot or the agent, ratings, tickets, Rasa being down."""

from __future__ import annotations

import pytest

from hub.exceptions import AlreadyRated, EmptyMessage, InvalidCallbackNumber, MessageTooLong, ValidationFailed
from hub.services import Hub
from hub.services.handoffs import parse_handoff_request
from tests.hub.conftest import ScriptedBot, add_agent, queue_customer


async def test_message_in_bot_status_goes_to_rasa_with_the_demo_profile(hub: Hub, bot: ScriptedBot) -> None:
    conversation = hub.customers.start("cust-overdue")
    message, _ = hub.customers.send(conversation.id, "我的额度是多少", client_msg_id="m1")
    await hub.customers.deliver(conversation.id, message)
    assert bot.sent == [(conversation.id, "我的额度是多少", {"customer_id": "cust-overdue"})]
    reply = hub.conversations.messages_after(conversation.id, message.seq, include_notes=False)[0]
    assert (reply.sender, reply.text) == ("bot", "机器人回答：我的额度是多少")
    assert reply.data["buttons"] == [{"title": "转人工", "payload": "/request_human"}]


async def test_button_payload_is_sent_to_rasa_and_the_title_is_shown(hub: Hub, bot: ScriptedBot) -> None:
    conversation = hub.customers.start(None)
    message, _ = hub.customers.send(conversation.id, "查询我的额度", payload="/check_credit_limit")
    await hub.customers.deliver(conversation.id, message)
    assert bot.sent[0][1] == "/check_credit_limit"
    assert message.text == "查询我的额度"


async def test_anonymous_customer_sends_no_metadata(hub: Hub, bot: ScriptedBot) -> None:
    conversation = hub.customers.start(None)
    message, _ = hub.customers.send(conversation.id, "你好")
    await hub.customers.deliver(conversation.id, message)
    assert bot.sent[0][2] is None


async def test_message_while_queued_is_not_sent_to_the_bot(hub: Hub, bot: ScriptedBot) -> None:
    add_agent(hub, "a1", presence="away")
    conversation_id = queue_customer(hub)
    message, _ = hub.customers.send(conversation_id, "还要等多久？")
    await hub.customers.deliver(conversation_id, message)
    assert bot.sent == []
    assert hub.conversations.reload(message).delivered_at is not None


async def test_redelivering_an_answered_message_does_not_ask_the_bot_twice(hub: Hub, bot: ScriptedBot) -> None:
    conversation = hub.customers.start(None)
    message, _ = hub.customers.send(conversation.id, "你好", client_msg_id="m1")
    await hub.customers.deliver(conversation.id, message)
    retry, duplicate = hub.customers.send(conversation.id, "你好", client_msg_id="m1")
    assert duplicate
    await hub.customers.deliver(conversation.id, retry)
    assert len(bot.sent) == 1


async def test_handoff_during_the_bots_turn_keeps_the_bots_reply(hub: Hub, bot: ScriptedBot) -> None:
    add_agent(hub, "a1", presence="away")
    conversation = hub.customers.start(None)

    def action_handoff(conversation_id: str, text: str) -> None:  # what Rasa's action server does
        hub.handoffs.request(parse_handoff_request({"conversation_id": conversation_id, "reason": "explicit_request"}))

    bot.on_message = action_handoff
    message, _ = hub.customers.send(conversation.id, "转人工", payload="/request_human")
    await hub.customers.deliver(conversation.id, message)
    assert hub.conversations.get(conversation.id).status == "queued"
    senders = [m.sender for m in hub.conversations.messages_after(conversation.id, 0, include_notes=False)]
    assert senders == ["customer", "system", "bot"]


def _hand_off(hub: Hub, conversation_id: str) -> None:
    """What Rasa's action server does during a handoff turn: post the packet to the hub."""
    hub.handoffs.request(parse_handoff_request({"conversation_id": conversation_id, "reason": "explicit_request"}))


async def test_agent_accepting_during_the_bots_turn_drops_the_late_bot_reply(hub: Hub, bot: ScriptedBot) -> None:
    add_agent(hub, "a1", presence="away")
    conversation = hub.customers.start(None)

    def handoff_then_agent_answers(conversation_id: str, text: str) -> None:  # all before Rasa's reply is back
        _hand_off(hub, conversation_id)
        hub.desk.accept("a1", conversation_id)
        hub.desk.send("a1", conversation_id, "您好，我是客服", "a-1")

    bot.on_message = handoff_then_agent_answers
    message, _ = hub.customers.send(conversation.id, "转人工", payload="/request_human")
    await hub.customers.deliver(conversation.id, message)

    transcript = hub.conversations.messages_after(conversation.id, 0, include_notes=False)
    assert [m.sender for m in transcript] == ["customer", "system", "system", "agent"]  # queued, assigned, agent
    assert transcript[-1].text == "您好，我是客服"
    assert hub.conversations.reload(message).delivered_at is not None


async def test_auto_assignment_during_the_bots_turn_drops_the_bots_connected_reply(hub: Hub, bot: ScriptedBot) -> None:
    add_agent(hub, "a1", presence="online")  # the handoff assigns at once
    conversation = hub.customers.start(None)
    bot.on_message = lambda conversation_id, text: _hand_off(hub, conversation_id)
    message, _ = hub.customers.send(conversation.id, "转人工", payload="/request_human")
    await hub.customers.deliver(conversation.id, message)

    assert hub.conversations.get(conversation.id).status == "agent"
    senders = [m.sender for m in hub.conversations.messages_after(conversation.id, 0, include_notes=False)]
    assert senders == ["customer", "system", "system"]  # the hub's own "客服…已接入" says it


async def test_customer_leaving_the_queue_during_the_bots_turn_drops_the_queued_reply(
    hub: Hub, bot: ScriptedBot
) -> None:
    add_agent(hub, "a1", presence="away")
    conversation = hub.customers.start(None)

    def handoff_then_cancel(conversation_id: str, text: str) -> None:
        _hand_off(hub, conversation_id)
        hub.customers.cancel_queue(conversation_id)

    bot.on_message = handoff_then_cancel
    message, _ = hub.customers.send(conversation.id, "转人工", payload="/request_human")
    await hub.customers.deliver(conversation.id, message)

    assert hub.conversations.get(conversation.id).status == "bot"
    senders = [m.sender for m in hub.conversations.messages_after(conversation.id, 0, include_notes=False)]
    assert senders == ["customer", "system", "system"]  # queued, cancelled: no "您前面还有…" after the cancel


async def test_message_after_resolve_returns_the_conversation_to_the_bot(hub: Hub, bot: ScriptedBot) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    hub.desk.resolve("a1", conversation_id, "resolved")
    message, _ = hub.customers.send(conversation_id, "再问一个问题")
    await hub.customers.deliver(conversation_id, message)
    assert hub.conversations.get(conversation_id).status == "bot"
    assert bot.sent[-1][1] == "再问一个问题"


def test_message_over_2000_characters_is_refused_and_not_stored(hub: Hub) -> None:
    conversation = hub.customers.start(None)
    with pytest.raises(MessageTooLong) as error:
        hub.customers.send(conversation.id, "长" * 2001)
    assert error.value.code == "message_too_long" and "2000" in error.value.message
    hub.customers.send(conversation.id, "长" * 2000)
    assert len(hub.conversations.messages_after(conversation.id, 0, include_notes=True)) == 1


def test_blank_message_is_refused(hub: Hub) -> None:
    conversation = hub.customers.start(None)
    with pytest.raises(EmptyMessage):
        hub.customers.send(conversation.id, "   ")


def test_unknown_demo_profile_is_refused(hub: Hub) -> None:
    with pytest.raises(ValidationFailed):
        hub.customers.start("cust-vip")


async def test_rasa_down_handoff_button_still_queues(hub: Hub, bot: ScriptedBot) -> None:
    add_agent(hub, "a1", presence="away")
    bot.down = True
    conversation = hub.customers.start(None)
    message, _ = hub.customers.send(conversation.id, "转人工", payload="/request_human")
    await hub.customers.deliver(conversation.id, message)
    assert hub.conversations.get(conversation.id).status == "queued"


async def test_rasa_down_ordinary_message_gets_an_apology_with_a_handoff_button(hub: Hub, bot: ScriptedBot) -> None:
    bot.down = True
    conversation = hub.customers.start(None)
    message, _ = hub.customers.send(conversation.id, "你好")
    await hub.customers.deliver(conversation.id, message)
    last = hub.conversations.messages_after(conversation.id, 0, include_notes=False)[-1]
    assert last.sender == "system" and "转人工" in last.text
    assert last.data["buttons"] == [{"title": "转人工", "payload": "/request_human"}]


def test_customer_rates_a_resolved_stay_once(hub: Hub) -> None:
    add_agent(hub, "a1")
    conversation_id = queue_customer(hub)
    handoff_id = hub.conversations.get(conversation_id).handoff_id
    hub.desk.resolve("a1", conversation_id, "resolved")
    with pytest.raises(ValidationFailed):
        hub.customers.rate(conversation_id, handoff_id, 6)
    hub.customers.rate(conversation_id, handoff_id, 5)
    with pytest.raises(AlreadyRated):
        hub.customers.rate(conversation_id, handoff_id, 4)
    handoff = hub.conversations.handoff(hub.conversations.get(conversation_id))
    assert handoff is not None and handoff.rating == 5


def test_ticket_needs_a_valid_callback_number_and_is_deduplicated(hub: Hub) -> None:
    conversation = hub.customers.start(None)
    hub.tickets.offer(conversation.id, "human", "after_hours")
    with pytest.raises(InvalidCallbackNumber):
        hub.tickets.create(conversation.id, callback_number="12345", text="请回电", client_msg_id="t1")
    ticket = hub.tickets.create(conversation.id, callback_number="13800138000", text="请回电", client_msg_id="t1")
    assert ticket is not None and (ticket.queue, ticket.reason) == ("human", "after_hours")
    assert hub.tickets.create(conversation.id, callback_number="13800138000", text="请回电", client_msg_id="t1") is None
    assert [t.id for t in hub.tickets.open_tickets()] == [ticket.id]
    confirmation = hub.conversations.messages_after(conversation.id, 0, include_notes=False)[-1]
    assert "138****8000" in confirmation.text


def test_customer_can_stop_waiting(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    conversation_id = queue_customer(hub)
    hub.customers.cancel_queue(conversation_id)
    assert hub.conversations.get(conversation_id).status == "bot"
    assert hub.queues.positions("human") == []
