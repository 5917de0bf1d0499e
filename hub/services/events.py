"""In-process publish/subscribe between services and open websocket connections.

Stored messages are not pushed through the bus: the bus only says "conversation X has new messages" and
each connection reads them from storage after its own cursor, in sequence order. That is what makes
resume-after-reconnect exact. Ephemeral frames (typing, queue position, status) do travel on the bus.

The bus lives in one hub process; running several processes would need a shared channel (e.g. Redis).
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Ephemeral frames kept per connection while it is slow to read: typing and queue updates are superseded
# by newer ones, so dropping the oldest beyond this is harmless.
MAX_PENDING_FRAMES = 200


class Audience(enum.Enum):
    CUSTOMER = "customer"
    AGENT = "agent"


@dataclass
class Batch:
    """What happened since a subscription last looked."""

    conversations: set[str] = field(default_factory=set)  # have new stored messages
    agents_changed: bool = False  # queues, assignments or presence changed
    frames: list[dict[str, Any]] = field(default_factory=list)  # ephemeral frames, in order


class Subscription:
    """One connection's view of the bus."""

    def __init__(self, bus: EventBus, audience: Audience, agent_id: str | None) -> None:
        self.bus = bus
        self.audience = audience
        self.agent_id = agent_id
        self.watched: set[str] = set()
        self._dirty: set[str] = set()
        self._agents_changed = False
        self._frames: deque[dict[str, Any]] = deque(maxlen=MAX_PENDING_FRAMES)
        self._wake = asyncio.Event()

    def watch(self, conversation_id: str) -> None:
        self.watched.add(conversation_id)
        self.bus._index(self, conversation_id)
        self._dirty.add(conversation_id)  # read whatever is already stored after the cursor
        self._wake.set()

    def unwatch(self, conversation_id: str) -> None:
        self.watched.discard(conversation_id)
        self.bus._unindex(self, conversation_id)

    def close(self) -> None:
        for conversation_id in list(self.watched):
            self.unwatch(conversation_id)
        self.bus._subscriptions.discard(self)

    async def next_batch(self) -> Batch:
        """Wait until something happened, then take all of it."""
        await self._wake.wait()
        self._wake.clear()
        batch = Batch(self._dirty, self._agents_changed, list(self._frames))
        self._dirty = set()
        self._agents_changed = False
        self._frames.clear()
        return batch

    def _messages_added(self, conversation_id: str) -> None:
        self._dirty.add(conversation_id)
        self._wake.set()

    def _agents(self) -> None:
        self._agents_changed = True
        self._wake.set()

    def _frame(self, frame: Mapping[str, Any]) -> None:
        self._frames.append(dict(frame))
        self._wake.set()


class EventBus:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._by_conversation: dict[str, set[Subscription]] = {}

    def subscribe(self, audience: Audience, agent_id: str | None = None) -> Subscription:
        subscription = Subscription(self, audience, agent_id)
        self._subscriptions.add(subscription)
        return subscription

    def messages_added(self, conversation_id: str) -> None:
        for subscription in self._by_conversation.get(conversation_id, ()):
            subscription._messages_added(conversation_id)

    def publish(self, conversation_id: str, frame: Mapping[str, Any], audience: Audience | None = None) -> None:
        """Send an ephemeral frame to connections watching the conversation (optionally one audience)."""
        for subscription in self._by_conversation.get(conversation_id, ()):
            if audience is None or subscription.audience is audience:
                subscription._frame(frame)

    def publish_to_agent(self, agent_id: str, frame: Mapping[str, Any]) -> None:
        """Send an ephemeral frame to one agent's consoles only, whatever they watch (video signalling)."""
        for subscription in self._subscriptions:
            if subscription.audience is Audience.AGENT and subscription.agent_id == agent_id:
                subscription._frame(frame)

    def agents_changed(self) -> None:
        for subscription in self._subscriptions:
            if subscription.audience is Audience.AGENT:
                subscription._agents()

    def customer_connected(self, conversation_id: str) -> bool:
        return any(s.audience is Audience.CUSTOMER for s in self._by_conversation.get(conversation_id, ()))

    def _index(self, subscription: Subscription, conversation_id: str) -> None:
        self._by_conversation.setdefault(conversation_id, set()).add(subscription)

    def _unindex(self, subscription: Subscription, conversation_id: str) -> None:
        watchers = self._by_conversation.get(conversation_id)
        if watchers is not None:
            watchers.discard(subscription)
            if not watchers:
                del self._by_conversation[conversation_id]
