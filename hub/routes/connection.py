"""A websocket connection with an explicit state, JSON frames out (``ensure_ascii=False``) and in."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import re
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from hub.exceptions import ConnectionStateError, MalformedFrame, ValidationFailed

# A frame larger than this cannot be a legitimate message (2,000 characters ≈ 6 KB of UTF-8 plus JSON).
MAX_FRAME_BYTES = 64 * 1024
_CLIENT_MSG_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class ConnectionState(enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


def dumps(frame: dict[str, Any]) -> str:
    """Frames go out as compact JSON with Chinese kept as is."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def parse_frame(text: str | None) -> dict[str, Any]:
    """A received frame: a JSON object with a string ``type``; anything else is MalformedFrame."""
    if text is None:
        raise MalformedFrame("只接受文本 JSON 消息。")
    if len(text.encode("utf-8")) > MAX_FRAME_BYTES:
        raise MalformedFrame("消息过大。")
    try:
        frame = json.loads(text)
    except ValueError as exc:
        raise MalformedFrame() from exc
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise MalformedFrame()
    return frame


def client_msg_id(frame: dict[str, Any]) -> str | None:
    value = frame.get("client_msg_id")
    if value is None:
        return None
    if not isinstance(value, str) or not _CLIENT_MSG_ID.match(value):
        raise ValidationFailed("client_msg_id must be 1–64 letters, digits or ._:-")
    return value


class Connection:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.state = ConnectionState.CONNECTING
        self._send_lock = asyncio.Lock()

    async def accept(self) -> None:
        if self.state is not ConnectionState.CONNECTING:
            raise ConnectionStateError(self.state.value, "accept")
        await self.websocket.accept()
        self.state = ConnectionState.OPEN

    async def send(self, frame: dict[str, Any]) -> None:
        if self.state is not ConnectionState.OPEN:
            raise ConnectionStateError(self.state.value, "send")
        async with self._send_lock:
            try:
                await self.websocket.send_text(dumps(frame))
            except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                self.state = ConnectionState.CLOSED
                raise ConnectionStateError(self.state.value, "send") from exc

    async def receive(self) -> str | None:
        """The next text frame (None for a binary frame); raises ConnectionStateError once closed."""
        if self.state is not ConnectionState.OPEN:
            raise ConnectionStateError(self.state.value, "receive")
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            self.state = ConnectionState.CLOSED
            raise ConnectionStateError(self.state.value, "receive")
        text = message.get("text")
        return text if isinstance(text, str) else None

    async def close(self, code: int = 1000) -> None:
        if self.state is ConnectionState.OPEN:
            self.state = ConnectionState.CLOSED
            with contextlib.suppress(RuntimeError):  # the peer already went away
                await self.websocket.close(code)


async def run_session(*loops: Any) -> None:
    """Run a connection's reader and writer loops until one ends (the peer left); cancel the rest."""
    tasks = [asyncio.ensure_future(loop) for loop in loops]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        error = task.exception()
        if error is not None and not isinstance(error, ConnectionStateError):
            raise error
