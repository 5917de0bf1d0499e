"""Identity checks done by a person instead of the bot's SMS code: the interpreter on a sign-language video.

A deaf customer cannot take the bank's voice call and may not manage the SMS flow alone; the interpreter
compares the customer on camera with their ID and records the check from the console. The record (who,
when, which stay) is the audit trail; when the stay is resolved the hub sets ``verified`` (and
``verification_method``) on Rasa's tracker before resuming it (``ConversationService.resolve``), so the
loan or account flow the customer came for continues without asking for a code.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from hub import texts
from hub.exceptions import (
    AnonymousCustomer,
    ConversationNotFound,
    InvalidTransition,
    NotVideoConversation,
    NotYourConversation,
    ValidationFailed,
)
from hub.services.clock import Clock
from hub.services.conversations import VIDEO_QUEUE
from hub.services.events import EventBus
from hub.storage import IdentityCheck, Store

METHODS = ("video",)


class IdentityCheckService:
    def __init__(self, store: Store, clock: Clock, bus: EventBus, zone: ZoneInfo) -> None:
        self.store = store
        self.clock = clock
        self.bus = bus
        self.zone = zone

    def record(self, agent_id: str, conversation_id: str, method: Any = "video") -> tuple[IdentityCheck, bool]:
        """Record that ``agent_id`` verified the customer of ``conversation_id``; once per stay.

        Only the interpreter holding a sign-language stay of a logged-in customer may. Returns the check and
        whether this call created it (a repeat returns the first one). The customer and the console are told
        by a stored system message, committed with the record.
        """
        if method not in METHODS:
            raise ValidationFailed(f"method must be one of {', '.join(METHODS)}")
        now = self.clock.now()
        with self.store.transaction() as tx:
            conversation = tx.conversation(conversation_id, lock=True)
            if conversation is None:
                raise ConversationNotFound()
            if conversation.status != "agent":
                raise InvalidTransition(conversation_id, conversation.status, "verify_identity")
            if conversation.agent_id != agent_id:
                raise NotYourConversation()
            handoff = tx.handoff(conversation.handoff_id) if conversation.handoff_id is not None else None
            if handoff is None or handoff.queue != VIDEO_QUEUE:
                raise NotVideoConversation("只有手语视频服务中才能通过视频核验身份。")
            if conversation.customer_id is None:
                raise AnonymousCustomer()
            existing = tx.identity_check(handoff.id)
            if existing is not None:
                return existing, False
            agent = tx.agent(agent_id)
            name = agent.display_name if agent is not None else agent_id
            check = tx.insert_identity_check(
                conversation_id,
                handoff_id=handoff.id,
                customer_id=conversation.customer_id,
                agent_id=agent_id,
                method=method,
                now=now,
            )
            local = now.astimezone(self.zone).strftime("%H:%M")
            tx.add_message(
                conversation_id,
                sender="system",
                kind="event",
                text=texts.IDENTITY_VERIFIED.format(agent_name=name),
                now=now,
                data={
                    "event": "identity_verified",
                    "method": method,
                    "agent_name": name,
                    "handoff_id": handoff.id,
                    "agent_text": texts.IDENTITY_VERIFIED_AGENT.format(agent_name=name, time=local),
                },
            )
        self.bus.messages_added(conversation_id)
        return check, True


def identity_check_dict(check: IdentityCheck, agent_name: str | None = None) -> dict[str, Any]:
    """An identity check as the console API shows it."""
    return {
        "id": check.id,
        "handoff_id": check.handoff_id,
        "customer_id": check.customer_id,
        "agent_id": check.agent_id,
        "agent_name": agent_name or check.agent_id,
        "method": check.method,
        "checked_at": check.checked_at.isoformat(),
    }
