"""Hub storage: SQLAlchemy Core tables (``models``) and the transaction-scoped repository (``repository``).

SQLite by default, PostgreSQL when ``KEFU_HUB_DATABASE_URL`` points there; the same tests run on both.
"""

from hub.storage.models import Agent, Conversation, Handoff, IdentityCheck, Message, Ticket
from hub.storage.repository import Store, Transaction

__all__ = ["Agent", "Conversation", "Handoff", "IdentityCheck", "Message", "Store", "Ticket", "Transaction"]
