"""Websocket and HTTP clients for talking to a running hub in tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
from websockets.legacy.client import WebSocketClientProtocol

from tests.conftest import HUB_SERVICE_TOKEN

# Frames arrive within milliseconds; the bot's answer goes through a fake Rasa and the action server code.
FRAME_TIMEOUT_SECONDS = 10.0


async def receive_until(
    websocket: WebSocketClientProtocol,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = FRAME_TIMEOUT_SECONDS,
) -> list[dict[str, Any]]:
    """Every frame received up to and including the first one matching ``predicate``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    frames: list[dict[str, Any]] = []
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no matching frame within {timeout} s; got {frames}")
        try:
            raw = await asyncio.wait_for(websocket.recv(), remaining)
        except asyncio.TimeoutError:
            raise AssertionError(f"no matching frame within {timeout} s; got {frames}") from None
        frame = json.loads(raw)
        frames.append(frame)
        if predicate(frame):
            return frames


def is_message(sender: str | None = None, kind: str | None = None) -> Callable[[dict[str, Any]], bool]:
    def match(frame: dict[str, Any]) -> bool:
        return (
            frame.get("type") == "message"
            and (sender is None or frame.get("sender") == sender)
            and (kind is None or frame.get("kind") == kind)
        )

    return match


def is_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("type") == kind


def service_headers(token: str = HUB_SERVICE_TOKEN) -> dict[str, str]:
    """What the action server (and Prometheus, and the load benchmark) send to the hub's service endpoints."""
    return {"Authorization": f"Bearer {token}"}


def login(base_url: str, username: str, password: str) -> httpx.Client:
    """An HTTP client carrying an agent's session cookie."""
    client = httpx.Client(base_url=base_url, timeout=10)
    response = client.post("/agent/login", data={"username": username, "password": password})
    assert response.status_code == 303, response.text
    return client


def cookie_header(client: httpx.Client) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in client.cookies.items())}
