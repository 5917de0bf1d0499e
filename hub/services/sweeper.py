"""Timeouts, applied by one periodic sweep (tests call :meth:`Sweeper.sweep` after moving a fake clock)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from hub.services.clock import Clock
from hub.services.conversations import ConversationService
from hub.services.events import EventBus
from hub.services.presence import PresenceService
from hub.services.queues import QueueService
from hub.services.tickets import TicketService
from hub.storage import Store

log = logging.getLogger(__name__)

# How often timeouts are checked: every timeout below is minutes long, so 5 s is precise enough and cheap.
SWEEP_INTERVAL_SECONDS = 5.0
# After a quarter of an hour in line, also offer a callback ticket (the customer may keep waiting).
QUEUE_TICKET_OFFER_AFTER = timedelta(minutes=15)
# A queued customer with no open connection for this long has left; longer than a reload or a network
# drop on a train, short enough that agents do not accept ghosts.
CUSTOMER_ABANDON_AFTER = timedelta(minutes=10)


@dataclass
class SweepReport:
    agents_offline: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    ticket_offers: list[str] = field(default_factory=list)


class Sweeper:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        bus: EventBus,
        conversations: ConversationService,
        queues: QueueService,
        presence: PresenceService,
        tickets: TicketService,
    ) -> None:
        self.store = store
        self.clock = clock
        self.bus = bus
        self.conversations = conversations
        self.queues = queues
        self.presence = presence
        self.tickets = tickets

    def sweep(self) -> SweepReport:
        report = SweepReport(agents_offline=self.presence.expire())
        now = self.clock.now()
        with self.store.transaction() as tx:
            waiting = tx.queued_conversations()
        touched: set[str] = set()
        for conversation in waiting:
            assert conversation.queue is not None and conversation.skill is not None
            assert conversation.queued_at is not None and conversation.handoff_id is not None
            seen = max(conversation.customer_seen_at or conversation.queued_at, conversation.queued_at)
            if not self.bus.customer_connected(conversation.id) and now - seen >= CUSTOMER_ABANDON_AFTER:
                self.conversations.dequeue(conversation.id, "abandoned")
                report.abandoned.append(conversation.id)
                touched.add(conversation.queue)
                continue
            long_wait = now - conversation.queued_at >= QUEUE_TICKET_OFFER_AFTER
            if not (long_wait or not self.presence.staffed(conversation.skill)):
                continue
            with self.store.transaction() as tx:
                handoff = tx.handoff(conversation.handoff_id, lock=True)
                assert handoff is not None
                if handoff.ticket_offered_at is not None:
                    continue
                tx.update_handoff(handoff.id, ticket_offered_at=now)
            self.tickets.offer(conversation.id, conversation.queue, "long_wait" if long_wait else "no_agents")
            report.ticket_offers.append(conversation.id)
        if touched:
            self.queues.changed(*touched)
        return report

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_SECONDS)
            try:
                self.sweep()
            except Exception:  # a bad sweep must not stop the next one
                log.exception("sweep failed")
