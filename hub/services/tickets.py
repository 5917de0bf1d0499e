"""Leave-a-message tickets: offered when nobody can take the customer now, answered by a callback."""

from __future__ import annotations

import re

from hub import texts
from hub.exceptions import ConversationNotFound, InvalidCallbackNumber, MessageTooLong
from hub.services.clock import Clock
from hub.services.conversations import ConversationService
from hub.settings import Settings
from hub.storage import Message, Store, Ticket

# A mainland mobile number (11 digits, 1[3-9]…) or a landline with area code (0755-12345678).
CALLBACK_NUMBER = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
MAX_TICKET_CHARS = 2000
OFFER_REASONS = ("after_hours", "no_agents", "long_wait")


class TicketService:
    def __init__(self, store: Store, clock: Clock, settings: Settings, conversations: ConversationService) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.conversations = conversations

    def offer(self, conversation_id: str, queue: str, reason: str) -> Message:
        """Show the customer the leave-a-message form (a stored message, so it survives a reload)."""
        service = texts.SERVICE_NAMES.get(queue, texts.SERVICE_NAMES["human"])
        hours = self.settings.sign_language_hours if queue == "sign_language" else self.settings.human_hours
        template = {
            "after_hours": texts.TICKET_OFFER_AFTER_HOURS,
            "no_agents": texts.TICKET_OFFER_NO_AGENTS,
            "long_wait": texts.TICKET_OFFER_LONG_WAIT,
        }[reason]
        message, _ = self.conversations.post(
            conversation_id,
            sender="system",
            kind="ticket_offer",
            text=template.format(service=service, hours=hours.describe()),
            data={"reason": reason, "queue": queue},
        )
        return message

    def create(
        self, conversation_id: str, *, callback_number: str, text: str, client_msg_id: str | None
    ) -> Ticket | None:
        """Store the ticket and confirm to the customer. None when it is a retry of one already stored."""
        number = callback_number.strip().replace(" ", "")
        if not CALLBACK_NUMBER.match(number):
            raise InvalidCallbackNumber()
        text = text.strip()
        if len(text) > MAX_TICKET_CHARS:
            raise MessageTooLong()
        with self.store.transaction() as tx:
            if tx.conversation(conversation_id, lock=True) is None:
                raise ConversationNotFound()
            offer = tx.latest_message(conversation_id, "ticket_offer")
            queue = str(offer.data.get("queue", "human")) if offer else "human"
            reason = str(offer.data.get("reason", "customer_request")) if offer else "customer_request"
            ticket = tx.insert_ticket(
                conversation_id,
                client_msg_id=client_msg_id,
                queue=queue,
                reason=reason,
                callback_number=number,
                text=text,
                now=self.clock.now(),
            )
        if ticket is not None:
            self.conversations.post(
                conversation_id,
                sender="system",
                kind="event",
                text=texts.TICKET_CREATED.format(masked_number=texts.mask_number(number)),
                data={"event": "ticket_created", "ticket_id": ticket.id},
            )
        return ticket

    def open_tickets(self) -> list[Ticket]:
        with self.store.transaction() as tx:
            return tx.open_tickets()
