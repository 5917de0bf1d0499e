"""Queues, positions and wait estimates; every change is pushed to every waiting customer.

Wait estimate: from the recent waits in the same queue we learn how many seconds one place in line costs
(total seconds waited ÷ total places those customers had when they joined), and multiply by the place of
the customer being estimated. With no recent data a conservative default applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hub import texts
from hub.exceptions import ValidationFailed
from hub.services.clock import Clock
from hub.services.events import Audience, EventBus
from hub.services.routing import Router
from hub.storage import Conversation, Store

# Queue name → the skills an agent may need in it.
QUEUES: dict[str, tuple[str, ...]] = {
    "human": ("loan", "account", "complaint"),
    "sign_language": ("interpreter",),
}

# Only waits that ended this recently describe the current load (a morning rush says little at night).
WAIT_SAMPLE_WINDOW = timedelta(hours=2)
# The last 20 waits: enough to smooth over one unusually long chat, few enough to follow a rush quickly.
WAIT_SAMPLE_SIZE = 20
# With no recent waits assume three minutes per place: a typical short chat, and better to under-promise.
DEFAULT_SECONDS_PER_PLACE = 180.0


@dataclass(frozen=True)
class Position:
    conversation: Conversation
    ahead: int  # customers in the same queue before this one
    wait_seconds: float

    @property
    def wait_minutes(self) -> int:
        return wait_minutes(self.wait_seconds)

    def frame(self) -> dict[str, Any]:
        return {
            "type": "queue",
            "queue": self.conversation.queue,
            "ahead": self.ahead,
            "position": self.ahead + 1,
            "wait_minutes": self.wait_minutes,
            "text": texts.QUEUE_BANNER.format(ahead=self.ahead, minutes=self.wait_minutes),
        }


def wait_minutes(seconds: float) -> int:
    """Whole minutes shown to the customer, rounded up and never below one."""
    return max(1, math.ceil(seconds / 60))


def validate_route(queue: str, skill: str) -> None:
    if queue not in QUEUES:
        raise ValidationFailed(f"unknown queue {queue!r}; known: {', '.join(QUEUES)}")
    if skill not in QUEUES[queue]:
        raise ValidationFailed(f"skill {skill!r} is not served in queue {queue!r}")


class QueueService:
    def __init__(self, store: Store, clock: Clock, bus: EventBus, router: Router, *, auto_assign: bool) -> None:
        self.store = store
        self.clock = clock
        self.bus = bus
        self.router = router
        self.auto_assign = auto_assign

    def seconds_per_place(self, queue: str) -> float:
        with self.store.transaction() as tx:
            waits = tx.recent_waits(queue, self.clock.now() - WAIT_SAMPLE_WINDOW, WAIT_SAMPLE_SIZE)
        places = sum(p for _, p in waits)
        if not waits or places <= 0:
            return DEFAULT_SECONDS_PER_PLACE
        return max(0.0, sum(seconds for seconds, _ in waits)) / places

    def positions(self, queue: str) -> list[Position]:
        per_place = self.seconds_per_place(queue)
        with self.store.transaction() as tx:
            waiting = tx.queued_conversations(queue)
        return [Position(c, ahead, per_place * (ahead + 1)) for ahead, c in enumerate(waiting)]

    def position(self, conversation_id: str) -> Position | None:
        with self.store.transaction() as tx:
            conversation = tx.conversation(conversation_id)
        if conversation is None or conversation.status != "queued" or conversation.queue is None:
            return None
        for position in self.positions(conversation.queue):
            if position.conversation.id == conversation_id:
                return position
        return None

    def changed(self, *queues: str) -> None:
        """After anything that moves a queue: dispatch, then push positions to everyone still waiting."""
        if self.auto_assign:
            for assignment in self.router.dispatch():
                queues = (*queues, assignment.queue)
        for queue in dict.fromkeys(queues or tuple(QUEUES)):
            for position in self.positions(queue):
                self.bus.publish(position.conversation.id, position.frame(), Audience.CUSTOMER)
        self.bus.agents_changed()

    def snapshot(self) -> list[dict[str, Any]]:
        """Every queue with its waiting customers, for the agent consoles."""
        now = self.clock.now()
        result = []
        for queue in QUEUES:
            entries = []
            for position in self.positions(queue):
                conversation = position.conversation
                with self.store.transaction() as tx:
                    handoff = tx.handoff(conversation.handoff_id) if conversation.handoff_id else None
                    last = tx.last_customer_message(conversation.id)
                assert conversation.queued_at is not None
                entries.append(
                    {
                        "conversation_id": conversation.id,
                        "customer_id": conversation.customer_id,
                        "skill": conversation.skill,
                        "reason": handoff.reason if handoff else None,
                        "reason_label": texts.REASON_LABELS.get(handoff.reason, handoff.reason) if handoff else None,
                        "waited_seconds": int((now - conversation.queued_at).total_seconds()),
                        "position": position.ahead + 1,
                        "preview": (last.text[:60] if last else ""),
                    }
                )
            result.append({"queue": queue, "name": texts.SERVICE_NAMES[queue], "waiting": entries})
        return result
