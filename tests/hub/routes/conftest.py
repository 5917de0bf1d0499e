"""A hub served by uvicorn on a free port (in a thread) with a fake Rasa, and clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.app import create_app
from hub.services import Hub
from hub.services.clock import FakeClock
from hub.storage import Store
from tests.hub.conftest import make_settings
from tests.hub.support.fake_rasa import FakeRasa
from tests.hub.support.servers import ThreadedServer
from tests.support.servers import free_port


@dataclass
class Served:
    hub: Hub
    url: str
    rasa: FakeRasa
    clock: FakeClock

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def customer_ws(self, conversation_id: str, after: int = 0) -> str:
        return f"{self.ws_url}/ws/conversations/{conversation_id}?after={after}"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """Hub (SQLite, demo agents, frozen clock at 10:00 Shanghai) + fake Rasa running the real action_handoff."""
    rasa = FakeRasa()
    with ThreadedServer(rasa.app) as rasa_server:
        port = free_port()
        hub_url = f"http://127.0.0.1:{port}"
        monkeypatch.setenv("KEFU_HUB_URL", hub_url)  # where the fake Rasa's action_handoff posts
        settings = make_settings(tmp_path, KEFU_RASA_URL=rasa_server.url, KEFU_HUB_SEED_DEMO="true")
        clock = FakeClock()
        hub = Hub.build(settings, clock=clock, store=Store(settings.database_url))
        with ThreadedServer(create_app(hub=hub), port=port):
            yield Served(hub=hub, url=hub_url, rasa=rasa, clock=clock)
