"""Customer side: the demo page and the chat websocket.

Websocket ``/ws/conversations/{id}?after=<last seq>``. Server → client frames: ``state``, ``queue``,
``message`` (stored, with ``seq``; everything after ``after`` is replayed first), ``ack`` (your message is
stored), ``typing``, ``error``, ``pong``. Client → server: ``message`` {text, payload?, client_msg_id},
``typing``, ``rate`` {handoff_id, score}, ``ticket`` {callback_number, text, client_msg_id},
``cancel_queue``, ``ping``, and the video signalling frames ``rtc_*`` (``hub/services/video.py``), which are
relayed to the interpreter holding the conversation and to nobody else. A malformed or refused frame gets an
``error`` frame (with ``request_type``, and ``client_msg_id`` if it had one); the connection stays open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from hub.exceptions import ConnectionStateError, HubError, MalformedFrame
from hub.routes.connection import Connection, client_msg_id, parse_frame, run_session
from hub.routes.errors import deny_websocket, error_frame
from hub.services import Hub
from hub.services.conversations import message_frame
from hub.services.events import Audience, Subscription
from hub.services.video import SIGNAL_TYPES

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


async def demo_page(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")


async def customer_socket(websocket: WebSocket) -> None:
    hub: Hub = websocket.app.state.hub
    conversation_id = websocket.path_params["conversation_id"]
    try:
        hub.conversations.get(conversation_id)  # 404 for an unknown id, before the handshake
        after = _after(websocket.query_params.get("after"))
    except HubError as exc:
        await deny_websocket(websocket, exc)
        return
    connection = Connection(websocket)
    await connection.accept()
    hub.customers.connected(conversation_id)
    subscription = hub.bus.subscribe(Audience.CUSTOMER)
    subscription.watch(conversation_id)  # first, so nothing that happens from now on is missed
    try:
        await connection.send(hub.conversations.state(hub.conversations.get(conversation_id)))
        position = hub.queues.position(conversation_id)
        if position is not None:
            await connection.send(position.frame())
        await run_session(
            _read(hub, connection, conversation_id),
            _write(hub, connection, subscription, conversation_id, after),
        )
    except ConnectionStateError:
        pass  # the client left while we were still sending
    finally:
        subscription.close()
        await connection.close()
        hub.customers.disconnected(conversation_id)


def _after(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not value.isdigit():
        raise MalformedFrame("after must be a sequence number")
    return int(value)


async def _write(
    hub: Hub, connection: Connection, subscription: Subscription, conversation_id: str, after: int
) -> None:
    cursor = after
    while True:
        batch = await subscription.next_batch()
        for frame in batch.frames:  # typing / status first: they happened before the messages they announce
            await connection.send(frame)
        if conversation_id in batch.conversations:
            for message in hub.conversations.messages_after(conversation_id, cursor, include_notes=False):
                await connection.send(message_frame(message))
                cursor = message.seq


async def _read(hub: Hub, connection: Connection, conversation_id: str) -> None:
    while True:
        text = await connection.receive()
        frame: dict[str, Any] = {}
        try:
            frame = parse_frame(text)
            await _handle(hub, connection, conversation_id, frame)
        except HubError as exc:
            context = {"client_msg_id": frame["client_msg_id"]} if isinstance(frame.get("client_msg_id"), str) else {}
            if isinstance(frame.get("type"), str):
                context["request_type"] = frame["type"][:32]
            await connection.send(error_frame(exc, **context))


async def _handle(hub: Hub, connection: Connection, conversation_id: str, frame: dict[str, Any]) -> None:
    kind = frame["type"]
    if kind == "message":
        message, duplicate = hub.customers.send(
            conversation_id, frame.get("text"), payload=frame.get("payload"), client_msg_id=client_msg_id(frame)
        )
        await connection.send(
            {"type": "ack", "client_msg_id": message.client_msg_id, "seq": message.seq, "duplicate": duplicate}
        )
        if message.delivered_at is None:
            hub.tasks.spawn(hub.customers.deliver(conversation_id, message), name=f"deliver-{conversation_id}")
    elif kind == "typing":
        hub.customers.typing(conversation_id)
    elif kind == "rate":
        hub.customers.rate(conversation_id, frame.get("handoff_id"), frame.get("score"))
        await connection.send({"type": "ack", "client_msg_id": client_msg_id(frame)})
    elif kind == "ticket":
        hub.tickets.create(
            conversation_id,
            callback_number=str(frame.get("callback_number") or ""),
            text=str(frame.get("text") or ""),
            client_msg_id=client_msg_id(frame),
        )
        await connection.send({"type": "ack", "client_msg_id": client_msg_id(frame)})
    elif kind == "cancel_queue":
        hub.customers.cancel_queue(conversation_id)
    elif kind == "ping":
        await connection.send({"type": "pong"})
    elif kind in SIGNAL_TYPES:
        hub.video.from_customer(conversation_id, frame)
    else:
        raise MalformedFrame(f"未知的消息类型：{kind[:32]}")


routes = [
    Route("/", demo_page),
    WebSocketRoute("/ws/conversations/{conversation_id}", customer_socket),
]
