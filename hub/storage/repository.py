"""The repository: :class:`Store` opens transactions, :class:`Transaction` is the only code that runs SQL.

Services call ``with store.transaction() as tx:`` and never await inside it: a transaction is a short,
synchronous unit of work, committed before anyone is told about its result. On SQLite every transaction
begins ``IMMEDIATE`` (it holds the write lock from the start); on PostgreSQL rows read with ``lock=True``
are taken ``FOR UPDATE``. Either way a read-check-write in one transaction cannot interleave with another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, create_engine, event, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.pool import QueuePool

from hub.storage.models import (
    Agent,
    Conversation,
    Handoff,
    IdentityCheck,
    Message,
    Ticket,
    agents,
    conversations,
    handoffs,
    identity_checks,
    messages,
    metadata,
    tickets,
)
from hub.storage.trainer import TrainerQueries

# Seconds a SQLite writer waits for another writer's lock before failing: transactions are short, so a
# few seconds only matters when a second process (a test, a CLI) touches the same file.
SQLITE_BUSY_TIMEOUT_SECONDS = 10


# Set while a transaction is open in this thread/task: a nested one would deadlock SQLite (IMMEDIATE) and
# silently lose atomicity on PostgreSQL, so it is refused.
_in_transaction: ContextVar[bool] = ContextVar("hub_in_transaction", default=False)


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def create_hub_engine(url: str) -> Engine:
    """An engine for ``url`` with the hub's conventions (SQLite: WAL, foreign keys, IMMEDIATE)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            future=True,
            json_serializer=_json_dumps,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            poolclass=QueuePool,  # SQLAlchemy 1.4 would reconnect (and re-run the PRAGMAs) per transaction
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, future=True, json_serializer=_json_dumps, pool_pre_ping=True)


class Store:
    """The hub database: schema creation and transactions."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or create_hub_engine(url)

    def create_schema(self) -> None:
        """Create missing tables (the schema is small and additive; no migrations yet)."""
        metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One committed unit of work; rolled back if the block raises. Transactions do not nest."""
        if _in_transaction.get():
            raise RuntimeError("nested hub transaction: finish the open one before starting another")
        token = _in_transaction.set(True)
        try:
            with self.engine.begin() as connection:
                yield Transaction(connection)
        finally:
            _in_transaction.reset(token)


class Transaction(TrainerQueries):
    """Queries and writes inside one transaction. Returns frozen records, never live rows.

    The trainer console's queries are inherited from :class:`~hub.storage.trainer.TrainerQueries`.
    """

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    # -- conversations -------------------------------------------------------------------------------------

    def conversation(self, conversation_id: str, *, lock: bool = False) -> Conversation | None:
        query = select(conversations).where(conversations.c.id == conversation_id)
        if lock:
            query = query.with_for_update()
        row = self._c.execute(query).first()
        return Conversation.from_row(row) if row else None

    def insert_conversation(self, conversation_id: str, customer_id: str | None, now: datetime) -> Conversation:
        self._c.execute(
            insert(conversations).values(
                id=conversation_id,
                status="bot",
                customer_id=customer_id,
                last_seq=0,
                customer_seen_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        created = self.conversation(conversation_id)
        assert created is not None
        return created

    def update_conversation(self, conversation_id: str, now: datetime, **values: Any) -> Conversation:
        self._c.execute(
            update(conversations).where(conversations.c.id == conversation_id).values(updated_at=now, **values)
        )
        updated = self.conversation(conversation_id)
        assert updated is not None
        return updated

    def queued_conversations(self, queue: str | None = None) -> list[Conversation]:
        """Waiting conversations, longest-waiting first (ties broken by id so the order is stable)."""
        query = select(conversations).where(conversations.c.status == "queued")
        if queue is not None:
            query = query.where(conversations.c.queue == queue)
        query = query.order_by(conversations.c.queued_at, conversations.c.id)
        return [Conversation.from_row(row) for row in self._c.execute(query)]

    def agent_conversations(self, agent_id: str) -> list[Conversation]:
        query = (
            select(conversations)
            .where(and_(conversations.c.status == "agent", conversations.c.agent_id == agent_id))
            .order_by(conversations.c.updated_at, conversations.c.id)
        )
        return [Conversation.from_row(row) for row in self._c.execute(query)]

    def agent_loads(self) -> dict[str, int]:
        """How many conversations each agent holds right now."""
        query = (
            select(conversations.c.agent_id, func.count())
            .where(conversations.c.status == "agent")
            .group_by(conversations.c.agent_id)
        )
        return {agent_id: count for agent_id, count in self._c.execute(query)}

    # -- messages ------------------------------------------------------------------------------------------

    def add_message(
        self,
        conversation_id: str,
        *,
        sender: str,
        kind: str,
        text: str,
        now: datetime,
        data: Mapping[str, Any] | None = None,
        client_msg_id: str | None = None,
        agent_id: str | None = None,
        delivered: bool = False,
    ) -> Message:
        """Append a message with the conversation's next sequence number."""
        self._c.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(last_seq=conversations.c.last_seq + 1, updated_at=now)
        )
        seq = self._c.execute(
            select(conversations.c.last_seq).where(conversations.c.id == conversation_id)
        ).scalar_one()
        result = self._c.execute(
            insert(messages).values(
                conversation_id=conversation_id,
                seq=seq,
                client_msg_id=client_msg_id,
                sender=sender,
                kind=kind,
                agent_id=agent_id,
                text=text,
                data=dict(data or {}),
                delivered_at=now if delivered else None,
                created_at=now,
            )
        )
        (message_id,) = result.inserted_primary_key
        row = self._c.execute(select(messages).where(messages.c.id == message_id)).one()
        return Message.from_row(row)

    def message(self, message_id: int) -> Message | None:
        row = self._c.execute(select(messages).where(messages.c.id == message_id)).first()
        return Message.from_row(row) if row else None

    def message_by_client_id(self, conversation_id: str, client_msg_id: str) -> Message | None:
        row = self._c.execute(
            select(messages).where(
                and_(messages.c.conversation_id == conversation_id, messages.c.client_msg_id == client_msg_id)
            )
        ).first()
        return Message.from_row(row) if row else None

    def messages_after(
        self, conversation_id: str, after_seq: int, *, include_notes: bool, limit: int | None = None
    ) -> list[Message]:
        query = select(messages).where(and_(messages.c.conversation_id == conversation_id, messages.c.seq > after_seq))
        if not include_notes:
            query = query.where(messages.c.kind != "note")
        query = query.order_by(messages.c.seq)
        if limit is not None:
            query = query.limit(limit)
        return [Message.from_row(row) for row in self._c.execute(query)]

    def last_customer_message(self, conversation_id: str) -> Message | None:
        row = self._c.execute(
            select(messages)
            .where(and_(messages.c.conversation_id == conversation_id, messages.c.sender == "customer"))
            .order_by(messages.c.seq.desc())
            .limit(1)
        ).first()
        return Message.from_row(row) if row else None

    def latest_message(self, conversation_id: str, kind: str) -> Message | None:
        row = self._c.execute(
            select(messages)
            .where(and_(messages.c.conversation_id == conversation_id, messages.c.kind == kind))
            .order_by(messages.c.seq.desc())
            .limit(1)
        ).first()
        return Message.from_row(row) if row else None

    def mark_delivered(self, message_id: int, now: datetime) -> None:
        self._c.execute(
            update(messages)
            .where(and_(messages.c.id == message_id, messages.c.delivered_at.is_(None)))
            .values(delivered_at=now)
        )

    # -- handoffs ------------------------------------------------------------------------------------------

    def insert_handoff(
        self,
        conversation_id: str,
        *,
        reason: str,
        queue: str,
        skill: str,
        context: Mapping[str, Any],
        queued_at: datetime,
        places: int,
    ) -> Handoff:
        result = self._c.execute(
            insert(handoffs).values(
                conversation_id=conversation_id,
                reason=reason,
                queue=queue,
                skill=skill,
                context=dict(context),
                queued_at=queued_at,
                places=places,
            )
        )
        (handoff_id,) = result.inserted_primary_key
        created = self.handoff(handoff_id)
        assert created is not None
        return created

    def handoff(self, handoff_id: int, *, lock: bool = False) -> Handoff | None:
        query = select(handoffs).where(handoffs.c.id == handoff_id)
        if lock:
            query = query.with_for_update()
        row = self._c.execute(query).first()
        return Handoff.from_row(row) if row else None

    def update_handoff(self, handoff_id: int, **values: Any) -> Handoff:
        self._c.execute(update(handoffs).where(handoffs.c.id == handoff_id).values(**values))
        updated = self.handoff(handoff_id)
        assert updated is not None
        return updated

    def conversation_handoffs(self, conversation_id: str) -> list[Handoff]:
        query = select(handoffs).where(handoffs.c.conversation_id == conversation_id).order_by(handoffs.c.id)
        return [Handoff.from_row(row) for row in self._c.execute(query)]

    def recent_waits(self, queue: str, since: datetime, limit: int) -> list[tuple[float, int]]:
        """``(seconds waited, places in line when queued)`` for the latest first assignments in ``queue``."""
        query = (
            select(handoffs.c.queued_at, handoffs.c.assigned_at, handoffs.c.places)
            .where(
                and_(
                    handoffs.c.queue == queue,
                    handoffs.c.assigned_at.is_not(None),
                    handoffs.c.assigned_at >= since,
                )
            )
            .order_by(handoffs.c.assigned_at.desc(), handoffs.c.id.desc())
            .limit(limit)
        )
        return [((assigned - queued).total_seconds(), places) for queued, assigned, places in self._c.execute(query)]

    # -- identity checks -----------------------------------------------------------------------------------

    def insert_identity_check(
        self,
        conversation_id: str,
        *,
        handoff_id: int,
        customer_id: str,
        agent_id: str,
        method: str,
        now: datetime,
    ) -> IdentityCheck:
        result = self._c.execute(
            insert(identity_checks).values(
                conversation_id=conversation_id,
                handoff_id=handoff_id,
                customer_id=customer_id,
                agent_id=agent_id,
                method=method,
                checked_at=now,
            )
        )
        (check_id,) = result.inserted_primary_key
        row = self._c.execute(select(identity_checks).where(identity_checks.c.id == check_id)).one()
        return IdentityCheck.from_row(row)

    def identity_check(self, handoff_id: int) -> IdentityCheck | None:
        """The identity check done during one stay with people, if any."""
        row = self._c.execute(select(identity_checks).where(identity_checks.c.handoff_id == handoff_id)).first()
        return IdentityCheck.from_row(row) if row else None

    # -- agents --------------------------------------------------------------------------------------------

    def agent(self, agent_id: str, *, lock: bool = False) -> Agent | None:
        query = select(agents).where(agents.c.id == agent_id)
        if lock:
            query = query.with_for_update()
        row = self._c.execute(query).first()
        return Agent.from_row(row) if row else None

    def all_agents(self) -> list[Agent]:
        return [Agent.from_row(row) for row in self._c.execute(select(agents).order_by(agents.c.id))]

    def insert_agent(
        self,
        agent_id: str,
        *,
        display_name: str,
        password_hash: str,
        role: str,
        skills: Sequence[str],
        capacity: int,
        now: datetime,
    ) -> Agent:
        self._c.execute(
            insert(agents).values(
                id=agent_id,
                display_name=display_name,
                password_hash=password_hash,
                role=role,
                skills=list(skills),
                capacity=capacity,
                presence="offline",
                created_at=now,
            )
        )
        created = self.agent(agent_id)
        assert created is not None
        return created

    def update_agent(self, agent_id: str, **values: Any) -> Agent:
        self._c.execute(update(agents).where(agents.c.id == agent_id).values(**values))
        updated = self.agent(agent_id)
        assert updated is not None
        return updated

    # -- tickets -------------------------------------------------------------------------------------------

    def insert_ticket(
        self,
        conversation_id: str,
        *,
        client_msg_id: str | None,
        queue: str,
        reason: str,
        callback_number: str,
        text: str,
        now: datetime,
    ) -> Ticket | None:
        """The new ticket, or None when ``client_msg_id`` was already used (a retry)."""
        if client_msg_id is not None:
            existing = self._c.execute(
                select(tickets.c.id).where(
                    and_(tickets.c.conversation_id == conversation_id, tickets.c.client_msg_id == client_msg_id)
                )
            ).first()
            if existing:
                return None
        result = self._c.execute(
            insert(tickets).values(
                conversation_id=conversation_id,
                client_msg_id=client_msg_id,
                queue=queue,
                reason=reason,
                callback_number=callback_number,
                text=text,
                status="open",
                created_at=now,
            )
        )
        (ticket_id,) = result.inserted_primary_key
        row = self._c.execute(select(tickets).where(tickets.c.id == ticket_id)).one()
        return Ticket.from_row(row)

    def open_tickets(self) -> list[Ticket]:
        query = select(tickets).where(tickets.c.status == "open").order_by(tickets.c.created_at, tickets.c.id)
        return [Ticket.from_row(row) for row in self._c.execute(query)]


__all__ = ["Store", "Transaction", "create_hub_engine"]
