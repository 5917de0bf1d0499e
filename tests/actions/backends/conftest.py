"""Fixtures for the bank backend tests: a fake clock and the stub on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from actions.backends.clock import BANK_TZ, FakeClock
from actions.backends.stub import StubBankBackend

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
START = datetime(2025, 3, 15, 10, 0, tzinfo=BANK_TZ)  # a Saturday; loans seeded 40/45 days earlier


@pytest.fixture
def clock() -> FakeClock:
    """A clock standing at `START` until a test moves it."""
    return FakeClock(START)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema of the local PostgreSQL, dropped afterwards."""
    schema = f"kefu_bank_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, future=True)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The stub's database: a temporary SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bank.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def bank(database_url: str, clock: FakeClock) -> AsyncIterator[StubBankBackend]:
    """The stub with its demo customers, on both databases."""
    backend = StubBankBackend(database_url, clock)
    yield backend
    await backend.aclose()


@pytest.fixture
async def verified_bank(bank: StubBankBackend) -> StubBankBackend:
    """The stub with every demo customer freshly verified."""
    for customer_id in ("cust-good", "cust-new", "cust-overdue", "cust-frozen", "cust-deaf"):
        await bank.debug_mark_verified(customer_id)
    return bank
