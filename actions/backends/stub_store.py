"""The stub bank's database plumbing: the engine, first-use setup, and the locked, idempotent transaction.

Every write transaction first bumps the customer's ``row_version``: on PostgreSQL that takes the row lock, on
SQLite the database write lock (waiting up to `SQLITE_BUSY_TIMEOUT_SECONDS`), so one customer's writes run
one at a time and a read-check-write (balance, available limit) cannot interleave with another.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError

from actions.backends import wire
from actions.backends.clock import Clock
from actions.backends.exceptions import IdempotencyConflict, UnknownCustomer
from actions.backends.stub_schema import customers, idempotency_keys, metadata, to_db
from actions.backends.stub_seed import seed

T = TypeVar("T")
SQLITE_BUSY_TIMEOUT_SECONDS = 30  # a write waits this long for another one; writes take milliseconds


def build_engine(database_url: str) -> Engine:
    """An engine for the URL; SQLite gets its folder created, WAL journaling and foreign keys.

    Raises:
        ValueError: An in-memory SQLite URL: each worker thread would see its own empty database.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, future=True, pool_pre_ping=True)
    if not url.database or url.database == ":memory:":
        raise ValueError("the stub bank needs an SQLite file (sqlite:///path/bank.db), not an in-memory database")
    Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, future=True, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL's recommended level: durable except on power loss
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def request_hash(operation: str, params: dict[str, Any]) -> str:
    """A fingerprint of a write's parameters, to tell a retry from a reused key."""
    body = json.dumps({"operation": operation, **params}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


class Store:
    """Synchronous database access for the stub; call it from a worker thread.

    Args:
        database_url: SQLAlchemy URL (an SQLite file or PostgreSQL).
        clock: The time source; each transaction reads it once.
        seed_demo: Write the demo customers on first use.
    """

    def __init__(self, database_url: str, clock: Clock, *, seed_demo: bool = True) -> None:
        self.clock = clock
        self.engine = build_engine(database_url)
        self._seed_demo = seed_demo
        self._ready = False
        self._ready_lock = threading.Lock()

    def ensure_ready(self) -> None:
        """Create the tables and seed the demo customers, once."""
        with self._ready_lock:
            if not self._ready:
                metadata.create_all(self.engine)
                if self._seed_demo:
                    seed(self.engine, self.clock.now())
                self._ready = True

    def read(self, work: Callable[[Connection, datetime], T]) -> T:
        """Run `work` on a connection, with the current time."""
        self.ensure_ready()
        now = self.clock.now()
        with self.engine.connect() as conn:
            return work(conn, now)

    def write(
        self,
        customer_id: str,
        work: Callable[[Connection, datetime], T],
        *,
        key: str | None = None,
        operation: str = "",
        params: dict[str, Any] | None = None,
        result_kind: Any = None,
    ) -> T:
        """Run `work` in one transaction holding the customer's lock; replay the stored result of a used key.

        Args:
            customer_id: Whose lock to take; UnknownCustomer if there is no such customer.
            work: The write, given the connection and the current time.
            key: The idempotency key, if the write has one.
            operation: The write's name (part of the fingerprint).
            params: The write's parameters (part of the fingerprint).
            result_kind: The result's type, to decode a stored result.

        Raises:
            UnknownCustomer, IdempotencyConflict, or whatever `work` raises (then nothing is written).
        """
        self.ensure_ready()
        for attempt in (1, 2):
            now = self.clock.now()
            try:
                with self.engine.begin() as conn:
                    locked = conn.execute(
                        customers.update()
                        .where(customers.c.id == customer_id)
                        .values(row_version=customers.c.row_version + 1)
                    )
                    if locked.rowcount != 1:
                        raise UnknownCustomer()
                    if key is None:
                        return work(conn, now)
                    fingerprint = request_hash(operation, {"customer_id": customer_id, **(params or {})})
                    stored = conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key)).first()
                    if stored is not None:
                        if stored.request_hash != fingerprint:
                            raise IdempotencyConflict()
                        replayed: T = wire.loads(result_kind, stored.response)
                        return replayed
                    result = work(conn, now)
                    conn.execute(
                        idempotency_keys.insert().values(
                            key=key,
                            customer_id=customer_id,
                            operation=operation,
                            request_hash=fingerprint,
                            response=wire.dumps(result),
                            created_at=to_db(now),
                        )
                    )
                    return result
            except IntegrityError:
                # The same key was stored concurrently for another customer: the second pass sees it.
                if attempt == 2 or key is None:
                    raise
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()
