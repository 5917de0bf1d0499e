"""The conversation state machine: who owns a conversation is its one ``status`` column.

::

    bot ──enqueue──▶ queued ──assign──▶ agent ──resolve──▶ closed ──reopen──▶ bot
     ▲                 │ ▲               │ │ ▲
     └──dequeue────────┘ └────requeue────┘ └─┘ transfer_to_agent

Each transition is one method. It is idempotent (repeating it is a no-op that returns ``changed=False``),
checks the current status inside the same transaction that writes the new one (so two agents accepting at
once cannot both win), and commits before anything is announced: only then are websocket connections
nudged and Rasa's tracker paused or resumed. The bot answers only while the status is ``bot``.

A bot turn takes time, and the conversation may change hands before Rasa's replies come back: the handoff
turn itself queues the customer (its reply, "已为您转接人工客服…", is still worth showing), and an agent may
accept before the reply arrives. :meth:`ConversationService.post_bot_replies` decides, in the transaction that
would store them, whether the replies still belong in the transcript (:func:`bot_may_answer`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub import texts
from hub.exceptions import (
    AgentAtCapacity,
    AgentNotFound,
    AgentUnavailable,
    ConversationNotFound,
    InvalidTransition,
)
from hub.services.clock import Clock
from hub.services.events import EventBus
from hub.services.rasa import TrackerSync, identity_slots
from hub.storage import Agent, Conversation, Handoff, Message, Store, Transaction

# The queue whose stays are video calls (sign language): the widget and the console open the camera there.
VIDEO_QUEUE = "sign_language"


@dataclass(frozen=True)
class BotMessage:
    """One reply of the bot as stored: its text and ``data`` (buttons, image, custom payload)."""

    text: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Transition:
    """The conversation after a transition, and whether this call changed anything."""

    conversation: Conversation
    changed: bool


class ConversationService:
    def __init__(self, store: Store, clock: Clock, bus: EventBus, tracker: TrackerSync) -> None:
        self.store = store
        self.clock = clock
        self.bus = bus
        self.tracker = tracker

    # -- reading -------------------------------------------------------------------------------------------

    def create(self, customer_id: str | None) -> Conversation:
        """A new conversation, owned by the bot. Its random id is also Rasa's sender id."""
        with self.store.transaction() as tx:
            return tx.insert_conversation(secrets.token_hex(16), customer_id, self.clock.now())

    def get(self, conversation_id: str) -> Conversation:
        with self.store.transaction() as tx:
            return _require(tx, conversation_id)

    def handoff(self, conversation: Conversation) -> Handoff | None:
        if conversation.handoff_id is None:
            return None
        with self.store.transaction() as tx:
            return tx.handoff(conversation.handoff_id)

    def messages_after(self, conversation_id: str, after_seq: int, *, include_notes: bool) -> list[Message]:
        with self.store.transaction() as tx:
            _require(tx, conversation_id)
            return tx.messages_after(conversation_id, after_seq, include_notes=include_notes)

    def state(self, conversation: Conversation) -> dict[str, Any]:
        """The status frame both consoles render; queue position is sent separately by the queue service.

        ``channel`` is ``video`` while the customer waits for or talks to a sign-language interpreter.
        """
        agent_name = None
        channel = "text"
        with self.store.transaction() as tx:
            if conversation.agent_id is not None:
                agent = tx.agent(conversation.agent_id)
                agent_name = agent.display_name if agent else None
            if conversation.status in ("queued", "agent") and conversation.handoff_id is not None:
                handoff = tx.handoff(conversation.handoff_id)
                channel = "video" if handoff is not None and handoff.queue == VIDEO_QUEUE else "text"
        return {
            "type": "state",
            "conversation_id": conversation.id,
            "status": conversation.status,
            "queue": conversation.queue,
            "skill": conversation.skill,
            "agent_name": agent_name,
            "handoff_id": conversation.handoff_id,
            "last_seq": conversation.last_seq,
            "channel": channel,
        }

    # -- messages ------------------------------------------------------------------------------------------

    def post(
        self,
        conversation_id: str,
        *,
        sender: str,
        text: str,
        kind: str = "text",
        data: Mapping[str, Any] | None = None,
        client_msg_id: str | None = None,
        agent_id: str | None = None,
        delivered: bool = False,
    ) -> tuple[Message, bool]:
        """Store a message (deduplicated by ``client_msg_id``), then nudge connections.

        Returns the message and whether it was a duplicate of one already stored.
        """
        with self.store.transaction() as tx:
            _require(tx, conversation_id, lock=True)
            if client_msg_id is not None:
                existing = tx.message_by_client_id(conversation_id, client_msg_id)
                if existing is not None:
                    return existing, True
            message = tx.add_message(
                conversation_id,
                sender=sender,
                kind=kind,
                text=text,
                data=data,
                client_msg_id=client_msg_id,
                agent_id=agent_id,
                now=self.clock.now(),
                delivered=delivered,
            )
        self.bus.messages_added(conversation_id)
        return message, False

    def post_bot_replies(
        self, conversation_id: str, replies: Sequence[BotMessage], *, handoff_id_at_start: int | None
    ) -> bool:
        """Store the bot's replies to one customer turn, together, unless a person took over during the turn.

        ``handoff_id_at_start`` is the conversation's ``handoff_id`` when the turn was sent to Rasa. Returns
        whether the replies were stored (False: dropped, so the customer never sees the bot talk after the agent).
        """
        with self.store.transaction() as tx:
            conversation = _require(tx, conversation_id, lock=True)  # an agent's accept waits for this row
            handoff = tx.handoff(conversation.handoff_id) if conversation.handoff_id is not None else None
            if not bot_may_answer(conversation, handoff, handoff_id_at_start):
                return False
            now = self.clock.now()
            for reply in replies:
                tx.add_message(conversation_id, sender="bot", kind="text", text=reply.text, data=reply.data, now=now)
        if replies:
            self.bus.messages_added(conversation_id)
        return True

    def reload(self, message: Message) -> Message:
        with self.store.transaction() as tx:
            fresh = tx.message(message.id)
        assert fresh is not None
        return fresh

    def mark_delivered(self, message: Message) -> None:
        with self.store.transaction() as tx:
            tx.mark_delivered(message.id, self.clock.now())

    def touch_customer(self, conversation_id: str) -> None:
        """Remember when the customer was last connected (queued customers who vanish are dequeued)."""
        with self.store.transaction() as tx:
            if tx.conversation(conversation_id, lock=True) is not None:
                now = self.clock.now()
                tx.update_conversation(conversation_id, now, customer_seen_at=now)

    # -- transitions ---------------------------------------------------------------------------------------

    def enqueue(
        self, conversation_id: str, *, reason: str, queue: str, skill: str, context: Mapping[str, Any]
    ) -> Transition:
        """bot → queued(queue, skill): start a stay with people, carrying the handoff context packet."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            conversation = _require(tx, conversation_id, lock=True)
            if conversation.status == "queued":
                return Transition(conversation, False)
            if conversation.status != "bot":
                raise InvalidTransition(conversation_id, conversation.status, "enqueue")
            places = len(tx.queued_conversations(queue)) + 1
            handoff = tx.insert_handoff(
                conversation_id,
                reason=reason,
                queue=queue,
                skill=skill,
                context=context,
                queued_at=now,
                places=places,
            )
            conversation = tx.update_conversation(
                conversation_id,
                now,
                status="queued",
                queue=queue,
                skill=skill,
                queued_at=now,
                agent_id=None,
                handoff_id=handoff.id,
            )
            text = texts.QUEUED_SIGN_LANGUAGE if queue == "sign_language" else texts.QUEUED
            tx.add_message(
                conversation_id,
                sender="system",
                kind="event",
                text=text,
                now=now,
                data={"event": "queued", "queue": queue, "handoff_id": handoff.id},
            )
        self.tracker.pause(conversation_id)
        self._announce(conversation)
        return Transition(conversation, True)

    def assign(self, conversation_id: str, agent_id: str) -> Transition:
        """queued → agent(agent). Fails if the agent is at capacity (checked in the same transaction)."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            conversation = _require(tx, conversation_id, lock=True)
            if conversation.status == "agent" and conversation.agent_id == agent_id:
                return Transition(conversation, False)
            if conversation.status != "queued":
                raise InvalidTransition(conversation_id, conversation.status, "assign")
            agent = _require_agent(tx, agent_id)
            if tx.agent_loads().get(agent_id, 0) >= agent.capacity:
                raise AgentAtCapacity()
            assert conversation.handoff_id is not None
            handoff = tx.handoff(conversation.handoff_id, lock=True)
            assert handoff is not None
            tx.update_handoff(handoff.id, agent_id=agent_id, assigned_at=handoff.assigned_at or now)
            tx.update_agent(agent_id, last_assigned_at=now)
            conversation = tx.update_conversation(
                conversation_id, now, status="agent", agent_id=agent_id, queue=None, skill=None, queued_at=None
            )
            template = texts.ASSIGNED_INTERPRETER if handoff.queue == "sign_language" else texts.ASSIGNED
            tx.add_message(
                conversation_id,
                sender="system",
                kind="event",
                now=now,
                text=template.format(agent_name=agent.display_name),
                data={"event": "assigned", "agent_name": agent.display_name, "handoff_id": handoff.id},
            )
        self._announce(conversation)
        return Transition(conversation, True)

    def transfer_to_agent(self, conversation_id: str, from_agent_id: str, to_agent_id: str, note: str) -> Transition:
        """agent(A) → agent(B), leaving an internal note for B. B must be staffed and below capacity."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            conversation = _require(tx, conversation_id, lock=True)
            if conversation.status == "agent" and conversation.agent_id == to_agent_id:
                return Transition(conversation, False)
            if conversation.status != "agent" or conversation.agent_id != from_agent_id:
                raise InvalidTransition(conversation_id, conversation.status, "transfer")
            source = _require_agent(tx, from_agent_id)
            target = _require_agent(tx, to_agent_id)
            if target.role != "agent" or target.presence == "offline":
                raise AgentUnavailable()
            if tx.agent_loads().get(to_agent_id, 0) >= target.capacity:
                raise AgentUnavailable()
            assert conversation.handoff_id is not None
            tx.update_handoff(conversation.handoff_id, agent_id=to_agent_id)
            tx.update_agent(to_agent_id, last_assigned_at=now)
            tx.add_message(
                conversation_id,
                sender="agent",
                kind="note",
                agent_id=from_agent_id,
                now=now,
                text=note or "（无转接说明）",
                data={
                    "event": "transfer",
                    "agent_name": source.display_name,
                    "to_agent": to_agent_id,
                    "to_agent_name": target.display_name,
                },
            )
            tx.add_message(
                conversation_id,
                sender="system",
                kind="event",
                now=now,
                text=texts.TRANSFERRING_TO_AGENT.format(agent_name=target.display_name),
                data={"event": "assigned", "agent_name": target.display_name, "handoff_id": conversation.handoff_id},
            )
            conversation = tx.update_conversation(conversation_id, now, agent_id=to_agent_id)
        self._announce(conversation)
        return Transition(conversation, True)

    def requeue(
        self,
        conversation_id: str,
        *,
        from_agent_id: str | None,
        queue: str | None = None,
        skill: str | None = None,
        note: str = "",
        customer_text: str = texts.TRANSFERRING_TO_QUEUE,
    ) -> Transition:
        """agent → queued: a transfer to a queue, or the agent went offline.

        The customer keeps their original place (``queued_at`` of the stay), so they are served next.
        ``from_agent_id`` None means "whoever holds it" (used when an agent times out).
        """
        now = self.clock.now()
        with self.store.transaction() as tx:
            conversation = _require(tx, conversation_id, lock=True)
            assert conversation.handoff_id is not None or conversation.status == "bot"
            handoff = tx.handoff(conversation.handoff_id, lock=True) if conversation.handoff_id else None
            target_queue = queue or (handoff.queue if handoff else None)
            target_skill = skill or (handoff.skill if handoff else None)
            if (
                conversation.status == "queued"
                and conversation.queue == target_queue
                and conversation.skill == target_skill
            ):
                return Transition(conversation, False)
            if conversation.status != "agent" or (from_agent_id is not None and conversation.agent_id != from_agent_id):
                raise InvalidTransition(conversation_id, conversation.status, "requeue")
            assert handoff is not None and target_queue is not None and target_skill is not None
            tx.update_handoff(handoff.id, queue=target_queue, skill=target_skill, agent_id=None)
            if note:
                tx.add_message(
                    conversation_id,
                    sender="agent",
                    kind="note",
                    agent_id=conversation.agent_id,
                    text=note,
                    now=now,
                    data={"event": "transfer", "to_queue": target_queue, "to_skill": target_skill},
                )
            tx.add_message(
                conversation_id,
                sender="system",
                kind="event",
                text=customer_text,
                now=now,
                data={"event": "queued", "queue": target_queue, "handoff_id": handoff.id},
            )
            conversation = tx.update_conversation(
                conversation_id,
                now,
                status="queued",
                queue=target_queue,
                skill=target_skill,
                queued_at=handoff.queued_at,
                agent_id=None,
            )
        self._announce(conversation)
        return Transition(conversation, True)

    def resolve(self, conversation_id: str, agent_id: str, disposition: str, note: str = "") -> Transition:
        """agent → closed: the agent is done; the customer is asked for a rating; Rasa resumes.

        If someone verified the customer's identity during the stay (video), Rasa gets ``verified`` first.
        """
        now = self.clock.now()
        with self.store.transaction() as tx:
            conversation = _require(tx, conversation_id, lock=True)
            handoff = tx.handoff(conversation.handoff_id, lock=True) if conversation.handoff_id else None
            if conversation.status in ("closed", "bot") and handoff is not None and handoff.outcome == "resolved":
                return Transition(conversation, False)
            if conversation.status != "agent" or conversation.agent_id != agent_id:
                raise InvalidTransition(conversation_id, conversation.status, "resolve")
            assert handoff is not None
            tx.update_handoff(handoff.id, closed_at=now, outcome="resolved", disposition=disposition, agent_id=agent_id)
            if note:
                tx.add_message(
                    conversation_id,
                    sender="agent",
                    kind="note",
                    agent_id=agent_id,
                    text=note,
                    now=now,
                    data={"event": "resolved", "disposition": disposition},
                )
            tx.add_message(
                conversation_id,
                sender="system",
                kind="rating_request",
                text=texts.RESOLVED,
                now=now,
                data={"handoff_id": handoff.id},
            )
            conversation = tx.update_conversation(conversation_id, now, status="closed", agent_id=None)
            check = tx.identity_check(handoff.id)
        if check is not None:
            self.tracker.set_slots(conversation_id, identity_slots(check.method))
        self.tracker.resume(conversation_id)
        self._announce(conversation)
        return Transition(conversation, True)

    def reopen(self, conversation_id: str) -> Transition:
        """closed → bot: the customer writes again after a resolved stay; the bot answers from now on."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            conversation = _require(tx, conversation_id, lock=True)
            if conversation.status == "bot":
                return Transition(conversation, False)
            if conversation.status != "closed":
                raise InvalidTransition(conversation_id, conversation.status, "reopen")
            conversation = tx.update_conversation(conversation_id, now, status="bot")
        self.tracker.resume(conversation_id)
        self._announce(conversation)
        return Transition(conversation, True)

    def dequeue(self, conversation_id: str, outcome: str) -> Transition:
        """queued → bot: the customer cancelled (``cancelled``) or left (``abandoned``) before an agent came."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            conversation = _require(tx, conversation_id, lock=True)
            if conversation.status == "bot":
                return Transition(conversation, False)
            if conversation.status != "queued":
                raise InvalidTransition(conversation_id, conversation.status, "dequeue")
            assert conversation.handoff_id is not None
            tx.update_handoff(conversation.handoff_id, closed_at=now, outcome=outcome)
            text = texts.ABANDONED if outcome == "abandoned" else texts.CANCELLED
            tx.add_message(
                conversation_id,
                sender="system",
                kind="event",
                text=text,
                now=now,
                data={"event": outcome, "handoff_id": conversation.handoff_id},
            )
            conversation = tx.update_conversation(
                conversation_id, now, status="bot", queue=None, skill=None, queued_at=None
            )
        self.tracker.resume(conversation_id)
        self._announce(conversation)
        return Transition(conversation, True)

    # -- announcing ----------------------------------------------------------------------------------------

    def _announce(self, conversation: Conversation) -> None:
        """Tell connections about a committed transition: new messages, new status, queue lists."""
        self.bus.messages_added(conversation.id)
        self.bus.publish(conversation.id, self.state(conversation))
        self.bus.agents_changed()


def bot_may_answer(conversation: Conversation, handoff: Handoff | None, handoff_id_at_start: int | None) -> bool:
    """Whether replies to a turn sent to the bot (in status ``bot``) may still be shown, as things are now.

    * still ``bot`` in the same stay: yes (an "unavailable, leave a message" handoff reply included);
    * ``queued`` and no agent has joined yet: yes, it is the bot's reply to the handoff it just made;
    * an agent holds the conversation or has held it, the stay is over, or the customer left the queue the turn
      put them in: no. The customer already sees the hub's own notice (queued, assigned, cancelled), and the
      bot must not speak while, or after, a person does.
    """
    if conversation.status == "bot":
        return conversation.handoff_id == handoff_id_at_start
    if conversation.status == "queued":
        return handoff is not None and handoff.assigned_at is None
    return False


def _require(tx: Transaction, conversation_id: str, *, lock: bool = False) -> Conversation:
    conversation = tx.conversation(conversation_id, lock=lock)
    if conversation is None:
        raise ConversationNotFound()
    return conversation


def _require_agent(tx: Transaction, agent_id: str) -> Agent:
    agent = tx.agent(agent_id)
    if agent is None:
        raise AgentNotFound()
    return agent


def message_frame(message: Message) -> dict[str, Any]:
    """A stored message as sent over websockets and the HTTP API."""
    return {
        "type": "message",
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "sender": message.sender,
        "kind": message.kind,
        "text": message.text,
        "data": message.data,
        "client_msg_id": message.client_msg_id,
        "created_at": message.created_at.isoformat(),
    }
