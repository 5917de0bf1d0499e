"""What an agent can do from the console: accept, write, note, transfer, resolve."""

from __future__ import annotations

from typing import Any

from hub import texts
from hub.exceptions import InvalidTransition, NotYourConversation, ValidationFailed
from hub.services.clock import Clock
from hub.services.conversations import VIDEO_QUEUE, ConversationService, message_frame
from hub.services.customers import validate_text
from hub.services.events import Audience, EventBus
from hub.services.identity_checks import identity_check_dict
from hub.services.queues import QueueService, validate_route
from hub.services.routing import Router
from hub.storage import Conversation, Handoff, Message, Store

# Longest transfer or resolve note; notes are for colleagues, not essays.
MAX_NOTE_CHARS = 2000


class AgentDesk:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        bus: EventBus,
        conversations: ConversationService,
        router: Router,
        queues: QueueService,
    ) -> None:
        self.store = store
        self.clock = clock
        self.bus = bus
        self.conversations = conversations
        self.router = router
        self.queues = queues

    def accept_next(self, agent_id: str) -> Conversation:
        conversation = self.router.accept_next(agent_id)
        self.queues.changed()
        return conversation

    def accept(self, agent_id: str, conversation_id: str) -> Conversation:
        conversation = self.router.accept(agent_id, conversation_id)
        self.queues.changed()
        return conversation

    def send(self, agent_id: str, conversation_id: str, text: Any, client_msg_id: str | None) -> tuple[Message, bool]:
        """A message to the customer; only the agent who holds the conversation may write."""
        clean = validate_text(text)
        with self.store.transaction() as tx:
            agent = tx.agent(agent_id)
        self._require_holder(agent_id, conversation_id, client_msg_id)
        return self.conversations.post(
            conversation_id,
            sender="agent",
            text=clean,
            agent_id=agent_id,
            client_msg_id=client_msg_id,
            data={"agent_name": agent.display_name if agent else agent_id},
        )

    def note(self, agent_id: str, conversation_id: str, text: Any, client_msg_id: str | None) -> tuple[Message, bool]:
        """An internal note: colleagues see it, the customer never does."""
        clean = validate_text(text)
        with self.store.transaction() as tx:
            agent = tx.agent(agent_id)
        self.conversations.get(conversation_id)
        return self.conversations.post(
            conversation_id,
            sender="agent",
            kind="note",
            text=clean,
            agent_id=agent_id,
            client_msg_id=client_msg_id,
            data={"agent_name": agent.display_name if agent else agent_id},
        )

    def transfer(
        self,
        agent_id: str,
        conversation_id: str,
        *,
        to_agent: str | None = None,
        queue: str | None = None,
        skill: str | None = None,
        note: str = "",
    ) -> Conversation:
        """Hand the customer to a colleague, or back to a queue (keeping their place), with a note."""
        note = _clean_note(note)
        if (to_agent is None) == (queue is None):
            raise ValidationFailed("give either to_agent or queue")
        if to_agent is not None:
            if to_agent == agent_id:
                raise ValidationFailed("cannot transfer to yourself")
            transition = self.conversations.transfer_to_agent(conversation_id, agent_id, to_agent, note)
            self.queues.changed()
            return transition.conversation
        assert queue is not None
        skill = skill or _default_skill(queue)
        validate_route(queue, skill)
        transition = self.conversations.requeue(
            conversation_id, from_agent_id=agent_id, queue=queue, skill=skill, note=note
        )
        self.queues.changed(queue)
        return transition.conversation

    def resolve(self, agent_id: str, conversation_id: str, disposition: str, note: str = "") -> Conversation:
        if disposition not in texts.DISPOSITIONS:
            raise ValidationFailed(f"disposition must be one of {', '.join(texts.DISPOSITIONS)}")
        transition = self.conversations.resolve(conversation_id, agent_id, disposition, _clean_note(note))
        self.queues.changed()  # the agent has room again
        return transition.conversation

    def typing(self, agent_id: str, conversation_id: str) -> None:
        conversation = self.conversations.get(conversation_id)
        if conversation.status == "agent" and conversation.agent_id == agent_id:
            self.bus.publish(conversation_id, {"type": "typing", "who": "agent", "on": True}, Audience.CUSTOMER)

    def mine(self, agent_id: str) -> list[dict[str, Any]]:
        """The agent's open conversations, for the console's list."""
        with self.store.transaction() as tx:
            held = tx.agent_conversations(agent_id)
            result = []
            for conversation in held:
                handoff = tx.handoff(conversation.handoff_id) if conversation.handoff_id else None
                last = tx.last_customer_message(conversation.id)
                result.append(
                    {
                        "conversation_id": conversation.id,
                        "customer_id": conversation.customer_id,
                        "reason": handoff.reason if handoff else None,
                        "reason_label": texts.REASON_LABELS.get(handoff.reason) if handoff else None,
                        "channel": "video" if handoff and handoff.queue == VIDEO_QUEUE else "text",
                        "last_seq": conversation.last_seq,
                        "preview": last.text[:60] if last else "",
                    }
                )
        return result

    def detail(self, conversation_id: str) -> dict[str, Any]:
        """Everything the console shows for one conversation: status, transcript with notes, context,
        and the identity check of the current stay (if an interpreter did one)."""
        conversation = self.conversations.get(conversation_id)
        check = None
        with self.store.transaction() as tx:
            messages = tx.messages_after(conversation_id, 0, include_notes=True)
            handoffs = tx.conversation_handoffs(conversation_id)
            found = tx.identity_check(conversation.handoff_id) if conversation.handoff_id is not None else None
            if found is not None:
                checker = tx.agent(found.agent_id)
                check = identity_check_dict(found, checker.display_name if checker else None)
        current = next((h for h in handoffs if h.id == conversation.handoff_id), None)
        return {
            "conversation": {**self.conversations.state(conversation), "customer_id": conversation.customer_id},
            "messages": [message_frame(m) for m in messages],
            "handoff": _handoff_dict(current) if current else None,
            "history": [_handoff_dict(h) for h in handoffs if h.id != conversation.handoff_id],
            "identity_check": check,
        }

    def _require_holder(self, agent_id: str, conversation_id: str, client_msg_id: str | None) -> None:
        conversation = self.conversations.get(conversation_id)
        if conversation.status != "agent":
            if client_msg_id is not None:  # a retry of a message sent before the agent resolved is fine
                with self.store.transaction() as tx:
                    if tx.message_by_client_id(conversation_id, client_msg_id) is not None:
                        return
            raise InvalidTransition(conversation_id, conversation.status, "send")
        if conversation.agent_id != agent_id:
            raise NotYourConversation()


def _default_skill(queue: str) -> str:
    return "interpreter" if queue == "sign_language" else "loan"


def _clean_note(note: Any) -> str:
    if not isinstance(note, str):
        raise ValidationFailed("note must be a string")
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationFailed(f"note must be at most {MAX_NOTE_CHARS} characters")
    return note


def _handoff_dict(handoff: Handoff) -> dict[str, Any]:
    return {
        "id": handoff.id,
        "reason": handoff.reason,
        "reason_label": texts.REASON_LABELS.get(handoff.reason, handoff.reason),
        "queue": handoff.queue,
        "skill": handoff.skill,
        "context": handoff.context,
        "queued_at": handoff.queued_at.isoformat(),
        "assigned_at": handoff.assigned_at.isoformat() if handoff.assigned_at else None,
        "agent_id": handoff.agent_id,
        "outcome": handoff.outcome,
        "disposition": handoff.disposition,
        "rating": handoff.rating,
    }
