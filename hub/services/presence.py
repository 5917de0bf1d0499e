"""Agent presence: ``online`` (takes automatic assignments), ``away`` (小休: only "accept next"),
``offline``. Consoles send a heartbeat; an agent silent for too long goes offline and their customers
return to the front of the queue.
"""

from __future__ import annotations

from datetime import timedelta

from hub import texts
from hub.exceptions import AgentNotFound, ValidationFailed
from hub.services.clock import Clock
from hub.services.conversations import ConversationService
from hub.services.queues import QUEUES, QueueService
from hub.services.routing import STAFFED
from hub.storage import Agent, Store

PRESENCES = ("online", "away", "offline")

# Consoles ping every 20 s (agent.js); three missed pings plus slack means the agent is really gone,
# while a page reload or a hub restart (a few seconds) keeps them present.
PRESENCE_TIMEOUT = timedelta(seconds=90)


class PresenceService:
    def __init__(self, store: Store, clock: Clock, conversations: ConversationService, queues: QueueService) -> None:
        self.store = store
        self.clock = clock
        self.conversations = conversations
        self.queues = queues

    def set(self, agent_id: str, presence: str) -> Agent:
        """Change presence; going offline hands the agent's customers back to the queue."""
        if presence not in PRESENCES:
            raise ValidationFailed(f"presence must be one of {', '.join(PRESENCES)}")
        with self.store.transaction() as tx:
            if tx.agent(agent_id, lock=True) is None:
                raise AgentNotFound()
            agent = tx.update_agent(agent_id, presence=presence, last_seen_at=self.clock.now())
        if presence == "offline":
            self._requeue_customers_of(agent_id)
        self.queues.changed()
        return agent

    def heartbeat(self, agent_id: str) -> None:
        with self.store.transaction() as tx:
            if tx.agent(agent_id, lock=True) is not None:
                tx.update_agent(agent_id, last_seen_at=self.clock.now())

    def staffed(self, skill: str) -> bool:
        """Is anyone logged in (online or away) who could serve this skill?"""
        with self.store.transaction() as tx:
            agents = tx.all_agents()
        return any(a.role == "agent" and a.presence in STAFFED and a.can_serve(skill) for a in agents)

    def staffed_queue(self, queue: str) -> bool:
        return any(self.staffed(skill) for skill in QUEUES[queue])

    def expire(self) -> list[str]:
        """Set agents whose heartbeat stopped to offline; returns their ids."""
        cutoff = self.clock.now() - PRESENCE_TIMEOUT
        with self.store.transaction() as tx:
            silent = [
                a.id
                for a in tx.all_agents()
                if a.presence != "offline" and (a.last_seen_at is None or a.last_seen_at < cutoff)
            ]
            for agent_id in silent:
                tx.update_agent(agent_id, presence="offline")
        for agent_id in silent:
            self._requeue_customers_of(agent_id)
        if silent:
            self.queues.changed()
        return silent

    def _requeue_customers_of(self, agent_id: str) -> None:
        with self.store.transaction() as tx:
            held = tx.agent_conversations(agent_id)
        for conversation in held:
            self.conversations.requeue(conversation.id, from_agent_id=agent_id, customer_text=texts.REQUEUED_AGENT_LEFT)
