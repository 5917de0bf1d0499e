"""Hub fixtures: a store on SQLite and (marked ``postgres``) on the local PostgreSQL, a fake clock, a hub."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import OperationalError

from hub.services import Hub
from hub.services.clock import FakeClock
from hub.services.rasa import BotReply, RecordingTrackerSync
from hub.settings import Settings
from hub.storage import Agent, Store
from hub.storage.models import metadata
from tests.conftest import HUB_SERVICE_TOKEN

POSTGRES_URL = os.environ.get("KEFU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL whose ``search_path`` is a schema of its own, created for this test run and dropped after."""
    schema = f"hub_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL, future=True)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc}); deselect with -m 'not postgres'")
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    store = Store(str(url))
    store.create_schema()
    store.dispose()
    try:
        yield str(url)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty hub database: SQLite in a temporary folder, or this run's PostgreSQL schema, truncated."""
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
        store.create_schema()
    else:
        store = Store(request.getfixturevalue("postgres_url"))
        with store.engine.begin() as connection:
            names = ", ".join(table.name for table in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield store
    store.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # Monday 2024-05-06 10:00 in Shanghai: inside every service window


def make_settings(tmp_path: Path, **overrides: str) -> Settings:
    env = {
        "KEFU_VAR_DIR": str(tmp_path),
        "KEFU_HUB_SECRET_KEY": "test-secret",
        "KEFU_HUB_BCRYPT_ROUNDS": "4",
        "KEFU_HUB_SEED_DEMO": "false",
        "KEFU_HUB_SERVICE_TOKEN": HUB_SERVICE_TOKEN,
        **overrides,
    }
    return Settings.from_env(env)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


class ScriptedBot:
    """A BotChannel answering from a script; records what it was sent. ``down`` makes it fail like Rasa."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Mapping[str, Any] | None]] = []
        self.down = False
        self.on_message: Any = None  # optional callback(conversation_id, text) run before answering

    async def send_message(
        self, conversation_id: str, text: str, metadata: Mapping[str, Any] | None = None
    ) -> list[BotReply]:
        from hub.exceptions import RasaUnavailable

        if self.down:
            raise RasaUnavailable()
        self.sent.append((conversation_id, text, metadata))
        if self.on_message is not None:
            self.on_message(conversation_id, text)
        return [BotReply(text=f"机器人回答：{text}", buttons=[{"title": "转人工", "payload": "/request_human"}])]


@pytest.fixture
def bot() -> ScriptedBot:
    return ScriptedBot()


@pytest.fixture
def tracker() -> RecordingTrackerSync:
    return RecordingTrackerSync()


@pytest.fixture
def hub(settings: Settings, clock: FakeClock, store: Store, bot: ScriptedBot, tracker: RecordingTrackerSync) -> Hub:
    built = Hub.build(settings, clock=clock, store=store, bot=bot, tracker=tracker)
    built.start()
    return built


def add_agent(
    hub: Hub,
    name: str,
    *,
    skills: tuple[str, ...] = ("loan", "account", "complaint"),
    capacity: int = 2,
    presence: str = "online",
) -> Agent:
    """An agent account with the given presence (tests use 4-round bcrypt, so this is fast)."""
    hub.accounts.create(name, "password-123", display_name=name.upper(), skills=skills, capacity=capacity)
    return hub.presence.set(name, presence)


def queue_customer(hub: Hub, *, reason: str = "explicit_request", queue: str = "human", skill: str = "loan") -> str:
    """A new conversation put in line (bypassing business-hour and staffing checks)."""
    conversation = hub.customers.start(None)
    hub.conversations.enqueue(conversation.id, reason=reason, queue=queue, skill=skill, context={"reason": reason})
    hub.queues.changed(queue)
    return conversation.id
