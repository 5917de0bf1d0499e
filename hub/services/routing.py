"""Who serves whom: the longest-waiting customer goes to the least-loaded eligible online agent.

An agent is eligible for a conversation when they have its skill and are below their capacity. Automatic
dispatch only uses agents whose presence is ``online``; agents who are ``away`` (小休) take customers only
by clicking "accept next" (or a specific customer in the queue list).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from hub.exceptions import AgentAtCapacity, AgentNotFound, InvalidTransition, NotEligible, QueueEmpty
from hub.services.conversations import ConversationService
from hub.storage import Agent, Conversation, Store

_NEVER = datetime.min.replace(tzinfo=timezone.utc)

# Presence values in which an agent counts as staffed (logged in and working).
STAFFED = ("online", "away")


@dataclass(frozen=True)
class Assignment:
    conversation_id: str
    agent_id: str
    queue: str


class Router:
    def __init__(self, store: Store, conversations: ConversationService) -> None:
        self.store = store
        self.conversations = conversations

    def dispatch(self) -> list[Assignment]:
        """Assign waiting customers (oldest first, across queues) to online agents with room for them."""
        assignments: list[Assignment] = []
        with self.store.transaction() as tx:
            waiting = tx.queued_conversations()
            agents = [a for a in tx.all_agents() if a.role == "agent" and a.presence == "online"]
            loads = tx.agent_loads()
        for conversation in waiting:
            assert conversation.skill is not None and conversation.queue is not None
            agent = pick_agent(conversation.skill, agents, loads)
            if agent is None:
                continue
            try:
                self.conversations.assign(conversation.id, agent.id)
            except (InvalidTransition, AgentAtCapacity):
                continue  # someone else took it or the agent filled up meanwhile
            loads[agent.id] = loads.get(agent.id, 0) + 1
            assignments.append(Assignment(conversation.id, agent.id, conversation.queue))
        return assignments

    def accept_next(self, agent_id: str) -> Conversation:
        """The agent takes the longest-waiting customer they are eligible for."""
        agent, load = self._agent_with_load(agent_id)
        if load >= agent.capacity:
            raise AgentAtCapacity()
        with self.store.transaction() as tx:
            waiting = [c for c in tx.queued_conversations() if c.skill is not None and agent.can_serve(c.skill)]
        for conversation in waiting:
            try:
                return self.conversations.assign(conversation.id, agent.id).conversation
            except InvalidTransition:
                continue  # taken by someone else a moment ago: try the next
        raise QueueEmpty()

    def accept(self, agent_id: str, conversation_id: str) -> Conversation:
        """The agent takes one particular waiting customer."""
        agent, load = self._agent_with_load(agent_id)
        conversation = self.conversations.get(conversation_id)
        if conversation.status == "agent" and conversation.agent_id == agent_id:
            return conversation
        if conversation.skill is not None and not agent.can_serve(conversation.skill):
            raise NotEligible()
        if load >= agent.capacity:
            raise AgentAtCapacity()
        return self.conversations.assign(conversation_id, agent_id).conversation

    def _agent_with_load(self, agent_id: str) -> tuple[Agent, int]:
        with self.store.transaction() as tx:
            agent = tx.agent(agent_id)
            if agent is None:
                raise AgentNotFound()
            return agent, tx.agent_loads().get(agent_id, 0)


def pick_agent(skill: str, agents: list[Agent], loads: dict[str, int]) -> Agent | None:
    """Least-loaded agent with the skill and free capacity; ties go to whoever waited longest for work."""
    eligible = [a for a in agents if a.can_serve(skill) and loads.get(a.id, 0) < a.capacity]
    if not eligible:
        return None
    return min(eligible, key=lambda a: (loads.get(a.id, 0), a.last_assigned_at or _NEVER, a.id))
