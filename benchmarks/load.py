"""Simulated customers over the hub's websockets, and the same traffic on the hub's no-op echo path.

A bot customer opens a conversation (``POST /api/conversations``), connects to its websocket and, until the
phase ends, sends a message, waits for the bot's first reply, thinks, and sends the next; after
``messages_per_conversation`` messages it starts a new conversation (real chats are short, and Rasa's tracker
grows with each turn). Latency is from sending the frame to receiving the first bot message stored after it.
An echo customer does the same against ``/ws/echo``, where the hub sends the frame straight back.

Every loop is bounded: a phase sends nothing after its deadline and waits at most ``reply_timeout`` for an
answer. Only loopback addresses are used (the stack's).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.exceptions import WebSocketException
from websockets.legacy.client import WebSocketClientProtocol, connect

from benchmarks.scoring import latency_summary

BOT, ECHO = "bot", "echo"
LOAD_CUSTOMER = "cust-good"


@dataclass(frozen=True)
class LoadSettings:
    """One load phase."""

    users: int
    duration_seconds: float
    think_seconds: float  # mean pause between a reply and the next message (uniform in 0.5–1.5 × this)
    messages_per_conversation: int = 8
    reply_timeout_seconds: float = 15.0
    seed: int = 7


@dataclass
class LoadResult:
    """What the customers of one phase saw."""

    path: str
    users: int
    duration_seconds: float
    think_seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    sent: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    conversations: int = 0

    @property
    def replies(self) -> int:
        return len(self.latencies_ms)

    @property
    def messages_per_second(self) -> float:
        return self.replies / self.duration_seconds if self.duration_seconds else 0.0

    def summary(self) -> dict[str, Any]:
        """The phase's figures, JSON-ready."""
        return {
            "users": self.users,
            "seconds": self.duration_seconds,
            "sent": self.sent,
            "replies": self.replies,
            "conversations": self.conversations,
            "messages_per_second": round(self.messages_per_second, 2),
            **{
                key: (round(value, 2) if value is not None else None)
                for key, value in latency_summary(self.latencies_ms).items()
            },
            "errors": dict(self.errors),
            "errors_total": sum(self.errors.values()),
        }


class _NoReply(Exception):
    """The awaited frame did not come in time, or an error came instead."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


async def _frame(ws: WebSocketClientProtocol, deadline: float) -> dict[str, Any]:
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        raise _NoReply("timeout")
    try:
        raw = await asyncio.wait_for(ws.recv(), remaining)
    except asyncio.TimeoutError:
        raise _NoReply("timeout") from None
    frame = json.loads(raw)
    return frame if isinstance(frame, dict) else {}


async def _bot_reply(ws: WebSocketClientProtocol, client_msg_id: str, timeout: float) -> None:
    """Waits for the ack of ``client_msg_id``, then for the first bot message stored after it."""
    deadline = time.perf_counter() + timeout
    seq: int | None = None
    while True:
        frame = await _frame(ws, deadline)
        kind = frame.get("type")
        if kind == "ack" and frame.get("client_msg_id") == client_msg_id:
            seq = int(frame["seq"])
        elif kind == "error":
            raise _NoReply("error_frame")
        elif kind == "message" and seq is not None and int(frame.get("seq") or 0) > seq:
            if frame.get("sender") == "bot":
                return
            if frame.get("sender") == "system" and (frame.get("data") or {}).get("event") == "bot_unavailable":
                raise _NoReply("bot_unavailable")


async def _echo_reply(ws: WebSocketClientProtocol, client_msg_id: str, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        frame = await _frame(ws, deadline)
        if frame.get("type") == "echo" and (frame.get("frame") or {}).get("client_msg_id") == client_msg_id:
            return
        if frame.get("type") == "error":
            raise _NoReply("error_frame")


def _think(rng: random.Random, settings: LoadSettings) -> float:
    return rng.uniform(0.5, 1.5) * settings.think_seconds


async def _bot_customer(
    number: int, hub_url: str, http: httpx.AsyncClient, texts: Sequence[str], settings: LoadSettings,
    deadline: float, result: LoadResult,
) -> None:  # fmt: skip
    rng = random.Random(settings.seed * 100_003 + number)
    await asyncio.sleep(rng.uniform(0, settings.think_seconds))  # customers arrive spread out, not all at once
    ws_base = hub_url.replace("http://", "ws://")
    while time.perf_counter() < deadline:
        try:
            response = await http.post("/api/conversations", json={"customer_id": LOAD_CUSTOMER})
            response.raise_for_status()
            conversation_id = response.json()["conversation_id"]
        except (httpx.HTTPError, ValueError, KeyError):
            result.errors["create_conversation"] += 1
            await asyncio.sleep(1.0)  # back off: the hub is refusing
            continue
        result.conversations += 1
        try:
            async with connect(f"{ws_base}/ws/conversations/{conversation_id}") as ws:
                for index in range(settings.messages_per_conversation):
                    if time.perf_counter() >= deadline:
                        return
                    client_msg_id = f"u{number}-{result.conversations}-{index}"
                    frame = {"type": "message", "client_msg_id": client_msg_id, "text": rng.choice(texts)}
                    started = time.perf_counter()
                    await ws.send(json.dumps(frame, ensure_ascii=False))
                    result.sent += 1
                    try:
                        await _bot_reply(ws, client_msg_id, settings.reply_timeout_seconds)
                    except _NoReply as missing:
                        result.errors[missing.kind] += 1
                        break  # a fresh conversation: this one may still be answering
                    result.latencies_ms.append((time.perf_counter() - started) * 1000)
                    await asyncio.sleep(_think(rng, settings))
        except (OSError, WebSocketException):
            result.errors["connection"] += 1
            await asyncio.sleep(1.0)


async def _echo_customer(
    number: int, hub_url: str, texts: Sequence[str], settings: LoadSettings, deadline: float, result: LoadResult
) -> None:
    rng = random.Random(settings.seed * 100_003 + number)
    await asyncio.sleep(rng.uniform(0, settings.think_seconds))
    ws_url = hub_url.replace("http://", "ws://") + "/ws/echo"
    index = 0
    while time.perf_counter() < deadline:
        try:
            async with connect(
                ws_url, extra_headers={"Authorization": f"Bearer {os.environ.get('KEFU_HUB_SERVICE_TOKEN', '')}"}
            ) as ws:  # the hub's service token
                result.conversations += 1
                while time.perf_counter() < deadline:
                    index += 1
                    client_msg_id = f"e{number}-{index}"
                    frame = {"type": "message", "client_msg_id": client_msg_id, "text": rng.choice(texts)}
                    started = time.perf_counter()
                    await ws.send(json.dumps(frame, ensure_ascii=False))
                    result.sent += 1
                    try:
                        await _echo_reply(ws, client_msg_id, settings.reply_timeout_seconds)
                    except _NoReply as missing:
                        result.errors[missing.kind] += 1
                        break
                    result.latencies_ms.append((time.perf_counter() - started) * 1000)
                    await asyncio.sleep(_think(rng, settings))
        except (OSError, WebSocketException):
            result.errors["connection"] += 1
            await asyncio.sleep(1.0)


async def run_phase(hub_url: str, texts: Sequence[str], settings: LoadSettings, path: str) -> LoadResult:
    """``settings.users`` customers on ``path`` (``bot`` or ``echo``) for ``settings.duration_seconds``."""
    if not texts:
        raise ValueError("no texts to send")
    result = LoadResult(path, settings.users, settings.duration_seconds, settings.think_seconds)
    started = time.perf_counter()
    deadline = started + settings.duration_seconds
    limits = httpx.Limits(max_connections=settings.users, max_keepalive_connections=settings.users)
    async with httpx.AsyncClient(base_url=hub_url, timeout=settings.reply_timeout_seconds, limits=limits) as http:
        if path == BOT:
            customers = [
                _bot_customer(n, hub_url, http, texts, settings, deadline, result) for n in range(settings.users)
            ]
        elif path == ECHO:
            customers = [_echo_customer(n, hub_url, texts, settings, deadline, result) for n in range(settings.users)]
        else:
            raise ValueError(f"unknown path {path!r}")
        # Every customer stops sending at the deadline and waits at most one reply timeout after it; the
        # extra 30 s only guard against a bug here, so the phase can never run on.
        try:
            await asyncio.wait_for(
                asyncio.gather(*customers), settings.duration_seconds + settings.reply_timeout_seconds + 30
            )
        except asyncio.TimeoutError:
            result.errors["phase_overran"] += 1
    result.duration_seconds = round(time.perf_counter() - started, 3)
    return result
