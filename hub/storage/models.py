"""Tables and the plain records read from them.

One status column says who owns a conversation: ``bot → queued → agent → closed (→ bot)``. ``queue``,
``skill``, ``queued_at`` belong to ``queued``; ``agent_id`` to ``agent``; CHECK constraints hold that
invariant in the database too. Each stay with people is a ``handoffs`` row (context packet, waits,
disposition, rating). Times are stored as naive UTC and read back as aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Row
from sqlalchemy.types import TypeDecorator

STATUSES = ("bot", "queued", "agent", "closed")


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored without zone so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the hub database; use an aware UTC time")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


metadata = MetaData()

agents = Table(
    "agents",
    metadata,
    Column("id", String(64), primary_key=True),  # the login name, e.g. agent1
    Column("display_name", String(64), nullable=False),
    Column("password_hash", String(128), nullable=False),
    Column("role", String(16), nullable=False),  # agent | trainer
    Column("skills", JSON, nullable=False),  # ["loan", "account", ...]
    Column("capacity", Integer, nullable=False),  # concurrent conversations
    Column("presence", String(16), nullable=False),  # offline | online | away
    Column("last_seen_at", UTCDateTime()),
    Column("last_assigned_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint("role IN ('agent', 'trainer')", name="ck_agents_role"),
    CheckConstraint("presence IN ('offline', 'online', 'away')", name="ck_agents_presence"),
    CheckConstraint("capacity >= 0", name="ck_agents_capacity"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(64), primary_key=True),  # also Rasa's sender_id
    Column("status", String(16), nullable=False),
    Column("customer_id", String(64)),  # demo profile, e.g. cust-good
    Column("queue", String(32)),
    Column("skill", String(32)),
    Column("queued_at", UTCDateTime()),  # orders the queue: earliest first
    Column("agent_id", String(64), ForeignKey("agents.id")),
    Column("handoff_id", Integer),  # the current (or last) stay with people
    Column("last_seq", Integer, nullable=False),
    Column("customer_seen_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("status IN ('bot', 'queued', 'agent', 'closed')", name="ck_conversations_status"),
    CheckConstraint(
        "status <> 'queued' OR (queue IS NOT NULL AND skill IS NOT NULL AND queued_at IS NOT NULL)",
        name="ck_conversations_queued_fields",
    ),
    CheckConstraint("status <> 'agent' OR agent_id IS NOT NULL", name="ck_conversations_agent_fields"),
    Index("ix_conversations_status_queue", "status", "queue", "queued_at"),
    Index("ix_conversations_agent", "agent_id", "status"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False),
    Column("seq", Integer, nullable=False),  # 1, 2, 3 … per conversation; the resume cursor
    Column("client_msg_id", String(64)),  # the sender's id for the message: retries are deduplicated
    Column("sender", String(16), nullable=False),  # customer | bot | agent | system
    Column("kind", String(16), nullable=False),  # text | note | ticket_offer | rating_request | event
    Column("agent_id", String(64)),
    Column("text", Text, nullable=False),
    Column("data", JSON, nullable=False),  # buttons, payload, agent name, handoff id …
    Column("delivered_at", UTCDateTime()),  # customer messages: when the bot or an agent got them
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("conversation_id", "seq", name="uq_messages_seq"),
    UniqueConstraint("conversation_id", "client_msg_id", name="uq_messages_client_msg_id"),
)

handoffs = Table(
    "handoffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("reason", String(32), nullable=False),
    Column("queue", String(32), nullable=False),
    Column("skill", String(32), nullable=False),
    Column("context", JSON, nullable=False),  # the context packet from action_handoff
    Column("queued_at", UTCDateTime(), nullable=False),
    Column("places", Integer, nullable=False),  # position in line when queued (1 = first)
    Column("assigned_at", UTCDateTime()),  # first time an agent took it: ends the measured wait
    Column("agent_id", String(64)),  # the agent who resolved it (or holds it now)
    Column("ticket_offered_at", UTCDateTime()),
    Column("closed_at", UTCDateTime()),
    Column("outcome", String(16)),  # resolved | abandoned | cancelled
    Column("disposition", String(32)),
    Column("rating", Integer),
    Column("rated_at", UTCDateTime()),
    Index("ix_handoffs_queue_assigned", "queue", "assigned_at"),
)

# Identity checks done by a person (the interpreter on video) instead of the bot's SMS code: the audit of who
# vouched for the customer and when. One per stay; resolving the stay tells Rasa (slot ``verified``). A table of
# its own rather than columns on ``conversations``: the schema is additive (create_all, no migrations).
identity_checks = Table(
    "identity_checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("handoff_id", Integer, ForeignKey("handoffs.id"), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("agent_id", String(64), ForeignKey("agents.id"), nullable=False),
    Column("method", String(16), nullable=False),  # video
    Column("checked_at", UTCDateTime(), nullable=False),
    UniqueConstraint("handoff_id", name="uq_identity_checks_handoff"),
    CheckConstraint("method IN ('video')", name="ck_identity_checks_method"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("client_msg_id", String(64)),
    Column("queue", String(32), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("callback_number", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open | done
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("conversation_id", "client_msg_id", name="uq_tickets_client_msg_id"),
)


@dataclass(frozen=True)
class Agent:
    id: str
    display_name: str
    password_hash: str
    role: str
    skills: tuple[str, ...]
    capacity: int
    presence: str
    last_seen_at: datetime | None
    last_assigned_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Agent:
        values = dict(row._mapping)
        values["skills"] = tuple(values["skills"] or ())
        return cls(**values)

    def can_serve(self, skill: str) -> bool:
        return skill in self.skills


@dataclass(frozen=True)
class Conversation:
    id: str
    status: str
    customer_id: str | None
    queue: str | None
    skill: str | None
    queued_at: datetime | None
    agent_id: str | None
    handoff_id: int | None
    last_seq: int
    customer_seen_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Conversation:
        return cls(**dict(row._mapping))


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: str
    seq: int
    client_msg_id: str | None
    sender: str
    kind: str
    agent_id: str | None
    text: str
    data: dict[str, Any]
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Message:
        values = dict(row._mapping)
        values["data"] = dict(values["data"] or {})
        return cls(**values)

    @property
    def visible_to_customer(self) -> bool:
        return self.kind != "note"


@dataclass(frozen=True)
class Handoff:
    id: int
    conversation_id: str
    reason: str
    queue: str
    skill: str
    context: dict[str, Any]
    queued_at: datetime
    places: int
    assigned_at: datetime | None
    agent_id: str | None
    ticket_offered_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    disposition: str | None
    rating: int | None
    rated_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> Handoff:
        values = dict(row._mapping)
        values["context"] = dict(values["context"] or {})
        return cls(**values)


@dataclass(frozen=True)
class IdentityCheck:
    id: int
    conversation_id: str
    handoff_id: int
    customer_id: str
    agent_id: str
    method: str
    checked_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> IdentityCheck:
        return cls(**dict(row._mapping))


@dataclass(frozen=True)
class Ticket:
    id: int
    conversation_id: str
    client_msg_id: str | None
    queue: str
    reason: str
    callback_number: str
    text: str
    status: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Ticket:
        return cls(**dict(row._mapping))


# -- trainer console (hub/services/trainer_*.py; records and queries in hub/storage/trainer.py) -----------------

# Every FAQ edit made in the console: who, when, the FAQ before and after (Faq.to_dict()) and the diff of its lines.
faq_changes = Table(
    "faq_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("faq_id", String(64), nullable=False, index=True),
    Column("action", String(16), nullable=False),  # create | update | delete | restore
    Column("file", String(128), nullable=False),  # the category file's name, e.g. repay.yml
    Column("agent_id", String(64), ForeignKey("agents.id"), nullable=False),
    Column("before", JSON),  # None: the FAQ did not exist
    Column("after", JSON),  # None: the FAQ was deleted
    Column("diff", Text, nullable=False),
    Column("reverts", Integer),  # the change a rollback undid
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint("action IN ('create', 'update', 'delete', 'restore')", name="ck_faq_changes_action"),
)

# Customer questions the bot did not answer (personal data masked): the trainer's inbox.
unanswered_questions = Table(
    "unanswered_questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), nullable=False),  # Rasa's sender id; not a foreign key (REST tests)
    Column("text", Text, nullable=False),
    Column("outcome", String(16), nullable=False),  # clarify | no_answer | fallback | handoff
    Column("reason", String(32)),  # the handoff reason, for outcome handoff
    Column("candidates", JSON, nullable=False),  # [{faq_id, question, score}] the knowledge base found
    Column("status", String(16), nullable=False),  # open | resolved | dismissed
    Column("faq_id", String(64)),  # resolved: the FAQ that answers it now
    Column("resolved_by", String(64)),
    Column("resolved_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_unanswered_questions_status", "status", "created_at"),
    Index("ix_unanswered_questions_conversation", "conversation_id"),
    CheckConstraint("status IN ('open', 'resolved', 'dismissed')", name="ck_unanswered_questions_status"),
)

# Rasa training runs started from the console, with the evaluation that decided whether the model went live.
training_runs = Table(
    "training_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agent_id", String(64), ForeignKey("agents.id"), nullable=False),
    Column("status", String(16), nullable=False),  # training | evaluating | activated | refused | trained | failed
    Column("model_file", Text),
    Column("log_file", Text, nullable=False),
    Column("evaluation", JSON),  # the new model's held-out intent F1 and test stories
    Column("baseline", JSON),  # the active model's, when it was compared
    Column("message", Text, nullable=False),  # why it was activated, refused or failed (shown in the console)
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
)

# Evaluations by model file content (sha256), so the active model is evaluated once, not at every training.
model_evaluations = Table(
    "model_evaluations",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("model_file", Text, nullable=False),
    Column("evaluation", JSON, nullable=False),
    Column("evaluated_at", UTCDateTime(), nullable=False),
)

# Which model the console put into the running Rasa server, when and why (trained | rollback).
model_activations = Table(
    "model_activations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_file", Text, nullable=False),
    Column("agent_id", String(64), ForeignKey("agents.id"), nullable=False),
    Column("run_id", Integer),
    Column("reason", String(16), nullable=False),
    Column("activated_at", UTCDateTime(), nullable=False),
)
