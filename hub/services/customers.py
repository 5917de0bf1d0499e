"""What a customer can do: start a conversation, write, rate, leave a ticket, stop waiting.

A customer message is stored (and acknowledged) first; delivering it is a separate step. While the status is
``bot`` it goes to Rasa's REST channel and the replies are stored as bot messages; otherwise it simply waits
in the transcript for the agent. Per conversation, deliveries run one at a time in arrival order. Replies that
come back after an agent has taken the conversation are dropped (``ConversationService.post_bot_replies``).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping
from typing import Any, Protocol

from hub import texts
from hub.exceptions import (
    AlreadyRated,
    EmptyMessage,
    HandoffNotFound,
    InvalidTransition,
    MessageTooLong,
    RasaUnavailable,
    ValidationFailed,
)
from hub.services.clock import Clock
from hub.services.conversations import BotMessage, ConversationService
from hub.services.events import Audience, EventBus
from hub.services.handoffs import HandoffRequest, HandoffService, default_route
from hub.services.queues import QueueService
from hub.services.rasa import BotReply, TrackerSync
from hub.storage import Conversation, Message, Store

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
MAX_PAYLOAD_CHARS = 200
DEMO_CUSTOMER_IDS = ("cust-good", "cust-new", "cust-overdue", "cust-frozen", "cust-deaf")
# Demo profiles that prefer the sign-language video service (prefers_sign_language in
# actions/backends/stub_seed.py): the widget suggests the service to them before they ask.
SIGN_LANGUAGE_CUSTOMER_IDS = ("cust-deaf",)
# Button payloads the hub can act on itself when Rasa is down, so 转人工 always works.
HANDOFF_PAYLOADS = {"/request_human": "explicit_request", "/request_sign_language": "sign_language"}


class BotChannel(Protocol):
    async def send_message(
        self, conversation_id: str, text: str, metadata: Mapping[str, Any] | None = None
    ) -> list[BotReply]: ...


def validate_text(text: Any) -> str:
    """The message as stored: a string, not blank, at most 2,000 characters (after trimming)."""
    if not isinstance(text, str):
        raise ValidationFailed("text must be a string")
    text = text.strip()
    if not text:
        raise EmptyMessage()
    if len(text) > MAX_MESSAGE_CHARS:
        raise MessageTooLong()
    return text


def validate_payload(payload: Any) -> str | None:
    if payload is None:
        return None
    if not isinstance(payload, str) or not payload.startswith("/") or len(payload) > MAX_PAYLOAD_CHARS:
        raise ValidationFailed("payload must be a button payload starting with '/'")
    return payload


def bot_message(reply: BotReply) -> BotMessage | None:
    """A reply from Rasa as stored (buttons, image, custom payload in ``data``); None when it carries nothing."""
    data: dict[str, Any] = {}
    if reply.buttons:
        data["buttons"] = reply.buttons
    if reply.image:
        data["image"] = reply.image
    if reply.custom:
        data["custom"] = reply.custom
    return BotMessage(reply.text, data) if reply.text or data else None


class CustomerService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        bus: EventBus,
        conversations: ConversationService,
        queues: QueueService,
        handoffs: HandoffService,
        bot: BotChannel,
        tracker: TrackerSync,
    ) -> None:
        self.store = store
        self.clock = clock
        self.bus = bus
        self.conversations = conversations
        self.queues = queues
        self.handoffs = handoffs
        self.bot = bot
        self.tracker = tracker
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def prefers_sign_language(self, customer_id: str | None) -> bool:
        """Whether the customer's profile asks for the sign-language video service."""
        return customer_id in SIGN_LANGUAGE_CUSTOMER_IDS

    def start(self, customer_id: str | None) -> Conversation:
        if customer_id is not None and customer_id not in DEMO_CUSTOMER_IDS:
            raise ValidationFailed(f"customer_id must be one of {', '.join(DEMO_CUSTOMER_IDS)} or absent")
        return self.conversations.create(customer_id)

    def send(
        self, conversation_id: str, text: Any, *, payload: Any = None, client_msg_id: str | None = None
    ) -> tuple[Message, bool]:
        """Store the customer's message (a retry with the same ``client_msg_id`` returns the original)."""
        clean = validate_text(text)
        button = validate_payload(payload)
        data = {"payload": button} if button else {}
        return self.conversations.post(
            conversation_id, sender="customer", text=clean, data=data, client_msg_id=client_msg_id
        )

    async def deliver(self, conversation_id: str, message: Message) -> None:
        """Hand a stored customer message to whoever owns the conversation now."""
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        async with lock:
            message = self.conversations.reload(message)
            if message.delivered_at is not None:
                return  # a retry of a message the bot already answered
            conversation = self.conversations.get(conversation_id)
            if conversation.status == "closed":
                conversation = self.conversations.reopen(conversation_id).conversation
            if conversation.status != "bot":
                self.conversations.mark_delivered(message)  # it is in the transcript the agent reads
                return
            await self._ask_bot(conversation, message)

    async def _ask_bot(self, conversation: Conversation, message: Message) -> None:
        text = message.data.get("payload") or message.text
        metadata = {"customer_id": conversation.customer_id} if conversation.customer_id else None
        self.bus.publish(conversation.id, {"type": "typing", "who": "bot", "on": True}, Audience.CUSTOMER)
        try:
            await self.tracker.flush(conversation.id)
            replies = await self.bot.send_message(conversation.id, text, metadata)
        except RasaUnavailable:
            self.conversations.mark_delivered(message)
            self._bot_unavailable(conversation, message)
            return
        finally:
            self.bus.publish(conversation.id, {"type": "typing", "who": "bot", "on": False}, Audience.CUSTOMER)
        messages = [m for m in map(bot_message, replies) if m is not None]
        if not self.conversations.post_bot_replies(
            conversation.id, messages, handoff_id_at_start=conversation.handoff_id
        ):
            log.info("dropped %d bot replies to %s: a person took over during the turn", len(messages), conversation.id)
        self.conversations.mark_delivered(message)

    def _bot_unavailable(self, conversation: Conversation, message: Message) -> None:
        """Rasa is down: a handoff button still works (the hub queues directly), anything else apologises."""
        reason = HANDOFF_PAYLOADS.get(str(message.data.get("payload")))
        if reason is not None:
            queue, skill = default_route(reason)
            context = {
                "conversation_id": conversation.id,
                "reason": reason,
                "note": "智能客服不可用，由 hub 直接转接",
                "customer": {"customer_id": conversation.customer_id},
            }
            try:
                self.handoffs.request(HandoffRequest(conversation.id, reason, queue, skill, context))
                return
            except InvalidTransition:
                pass
        self.conversations.post(
            conversation.id,
            sender="system",
            kind="event",
            text=texts.BOT_UNAVAILABLE,
            data={"event": "bot_unavailable", "buttons": [{"title": "转人工", "payload": "/request_human"}]},
        )

    def typing(self, conversation_id: str) -> None:
        self.bus.publish(conversation_id, {"type": "typing", "who": "customer", "on": True}, Audience.AGENT)

    def rate(self, conversation_id: str, handoff_id: Any, score: Any) -> None:
        """Rate a resolved stay with people, 1–5, once."""
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise ValidationFailed("评分需为 1 到 5 的整数。")
        if not isinstance(handoff_id, int) or isinstance(handoff_id, bool):
            raise ValidationFailed("handoff_id must be an integer")
        with self.store.transaction() as tx:
            handoff = tx.handoff(handoff_id, lock=True)
            if handoff is None or handoff.conversation_id != conversation_id or handoff.outcome != "resolved":
                raise HandoffNotFound()
            if handoff.rating is not None:
                raise AlreadyRated()
            tx.update_handoff(handoff_id, rating=score, rated_at=self.clock.now())
        self.conversations.post(
            conversation_id,
            sender="system",
            kind="event",
            text=texts.RATED,
            data={"event": "rated", "handoff_id": handoff_id, "score": score},
        )

    def cancel_queue(self, conversation_id: str) -> None:
        conversation = self.conversations.get(conversation_id)
        if conversation.status != "queued":
            return
        self.conversations.dequeue(conversation_id, "cancelled")
        assert conversation.queue is not None
        self.queues.changed(conversation.queue)

    def connected(self, conversation_id: str) -> None:
        self.conversations.touch_customer(conversation_id)

    def disconnected(self, conversation_id: str) -> None:
        self.conversations.touch_customer(conversation_id)
