"""Incoming handoffs: the context packet from ``action_handoff`` → a queue, or a leave-a-message offer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.exceptions import ValidationFailed
from hub.services.clock import Clock
from hub.services.conversations import ConversationService
from hub.services.presence import PresenceService
from hub.services.queues import QUEUES, QueueService, validate_route
from hub.services.tickets import TicketService
from hub.settings import Settings

REASONS = (
    "explicit_request",
    "fallback",
    "kb_no_answer",
    "complaint",
    "fraud",
    "backend_failure",
    "identity_locked",
    "sign_language",
)

# Largest context packet accepted (bytes of JSON): a 50-turn transcript of 2,000-character messages fits.
MAX_PACKET_BYTES = 512 * 1024


@dataclass(frozen=True)
class HandoffRequest:
    conversation_id: str
    reason: str
    queue: str
    skill: str
    context: dict[str, Any]


@dataclass(frozen=True)
class HandoffOutcome:
    status: str  # queued | agent | unavailable
    queue: str
    skill: str
    reason: str | None = None  # why unavailable: after_hours | no_agents
    ahead: int | None = None
    wait_minutes: int | None = None
    agent_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "queue": self.queue,
            "skill": self.skill,
            "reason": self.reason,
            "ahead": self.ahead,
            "wait_minutes": self.wait_minutes,
            "agent_name": self.agent_name,
        }


def default_route(reason: str) -> tuple[str, str]:
    """Queue and skill when the packet does not say: sign language and complaints have their own."""
    if reason == "sign_language":
        return "sign_language", "interpreter"
    if reason == "complaint":
        return "human", "complaint"
    if reason in ("fraud", "identity_locked"):
        return "human", "account"
    return "human", "loan"


def parse_handoff_request(body: Any) -> HandoffRequest:
    """Validate the JSON body of ``POST /api/handoffs`` (the context packet)."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("the handoff packet must be a JSON object")
    conversation_id = body.get("conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id or len(conversation_id) > 64:
        raise ValidationFailed("conversation_id must be a non-empty string of at most 64 characters")
    reason = body.get("reason") or "explicit_request"
    if reason not in REASONS:
        raise ValidationFailed(f"reason must be one of {', '.join(REASONS)}")
    queue, skill = default_route(reason)
    if body.get("queue") is not None or body.get("skill") is not None:
        queue = body.get("queue") or queue
        skill = body.get("skill") or (QUEUES[queue][0] if queue in QUEUES else skill)
        if not isinstance(queue, str) or not isinstance(skill, str):
            raise ValidationFailed("queue and skill must be strings")
        validate_route(queue, skill)
    for key, kind in (("transcript", list), ("slots", Mapping), ("kb_candidates", list)):
        if body.get(key) is not None and not isinstance(body[key], kind):
            raise ValidationFailed(f"{key} must be a JSON {'array' if kind is list else 'object'}")
    return HandoffRequest(conversation_id, reason, queue, skill, dict(body))


class HandoffService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        conversations: ConversationService,
        queues: QueueService,
        presence: PresenceService,
        tickets: TicketService,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.conversations = conversations
        self.queues = queues
        self.presence = presence
        self.tickets = tickets

    def is_open(self, queue: str) -> bool:
        hours = self.settings.sign_language_hours if queue == "sign_language" else self.settings.human_hours
        return hours.is_open(self.clock.now(), self.settings.timezone)

    def request(self, request: HandoffRequest) -> HandoffOutcome:
        """Queue the customer, or offer a ticket when closed or nobody is staffed. Idempotent."""
        conversation = self.conversations.get(request.conversation_id)
        if conversation.status in ("queued", "agent"):
            return self._outcome(conversation.id, request)
        if conversation.status == "closed":
            self.conversations.reopen(conversation.id)
        if not self.is_open(request.queue):
            self.tickets.offer(conversation.id, request.queue, "after_hours")
            return HandoffOutcome("unavailable", request.queue, request.skill, reason="after_hours")
        if not self.presence.staffed(request.skill):
            self.tickets.offer(conversation.id, request.queue, "no_agents")
            return HandoffOutcome("unavailable", request.queue, request.skill, reason="no_agents")
        self.conversations.enqueue(
            conversation.id,
            reason=request.reason,
            queue=request.queue,
            skill=request.skill,
            context=request.context,
        )
        self.queues.changed(request.queue)
        return self._outcome(conversation.id, request)

    def _outcome(self, conversation_id: str, request: HandoffRequest) -> HandoffOutcome:
        conversation = self.conversations.get(conversation_id)
        queue = conversation.queue or request.queue
        skill = conversation.skill or request.skill
        if conversation.status == "agent":
            name = self.conversations.state(conversation)["agent_name"]
            return HandoffOutcome("agent", queue, skill, agent_name=name)
        position = self.queues.position(conversation_id)
        if position is None:  # not queued after all (e.g. dequeued meanwhile)
            return HandoffOutcome("unavailable", queue, skill, reason="no_agents")
        return HandoffOutcome("queued", queue, skill, ahead=position.ahead, wait_minutes=position.wait_minutes)
