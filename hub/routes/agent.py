"""Agent console: login (bcrypt + signed session cookie), the console page, its JSON API and websocket.

Websocket ``/agent/ws``. Server → client: ``hello`` {agent}, ``queues`` (snapshot), ``mine`` (the
agent's open conversations), ``message`` (with ``conversation_id``; notes included), ``ack``, ``typing``,
``state``, ``error``, ``pong``. Client → server: ``watch`` {conversation_id, after}, ``unwatch``,
``message`` {conversation_id, text, client_msg_id, note?}, ``typing`` {conversation_id}, ``ping``.
Video signalling both ways: ``rtc_*`` frames with ``conversation_id`` (``hub/services/video.py``); the hub
relays them only between the interpreter who holds the conversation and its customer. An ``error`` frame
names the ``request_type`` (and ``conversation_id`` / ``client_msg_id``) it answers.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from hub import texts
from hub.exceptions import (
    BadRequest,
    ConnectionStateError,
    Forbidden,
    HubError,
    MalformedFrame,
    NotAuthenticated,
    ValidationFailed,
)
from hub.routes.api import read_json
from hub.routes.connection import Connection, client_msg_id, parse_frame, run_session
from hub.routes.errors import deny_websocket, error_frame
from hub.routes.widget import STATIC_DIR
from hub.services import Hub
from hub.services.conversations import message_frame
from hub.services.events import Audience, Subscription
from hub.services.identity_checks import identity_check_dict
from hub.services.queues import QUEUES
from hub.services.video import FALLBACK_REASONS, SIGNAL_TYPES
from hub.storage import Agent

SESSION_KEY = "agent_id"


def _hub(request: Request | WebSocket) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def current_agent(request: Request | WebSocket, role: str = "agent") -> Agent:
    agent_id = request.session.get(SESSION_KEY)
    agent = _hub(request).accounts.get(agent_id) if isinstance(agent_id, str) else None
    if agent is None:
        raise NotAuthenticated()
    if agent.role != role:
        raise Forbidden()
    return agent


def agent_dict(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "display_name": agent.display_name,
        "role": agent.role,
        "skills": list(agent.skills),
        "capacity": agent.capacity,
        "presence": agent.presence,
    }


# -- pages ---------------------------------------------------------------------------------------------------


def _login_page(error: str = "", status_code: int = 200) -> Response:
    page = (STATIC_DIR / "login.html").read_text(encoding="utf-8")
    notice = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return HTMLResponse(page.replace("<!--error-->", notice), status_code=status_code)


async def login_page(request: Request) -> Response:
    return _login_page()


async def login(request: Request) -> Response:
    form = await request.form()
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        return _login_page("请输入用户名和密码。", 400)
    try:
        agent = _hub(request).accounts.authenticate(username.strip(), password)
    except NotAuthenticated as exc:
        return _login_page(exc.message, 401)
    request.session.clear()
    request.session[SESSION_KEY] = agent.id
    if agent.role == "trainer":
        return RedirectResponse("/trainer", status_code=303)
    _hub(request).presence.set(agent.id, "online")
    return RedirectResponse("/agent", status_code=303)


async def logout(request: Request) -> Response:
    agent_id = request.session.get(SESSION_KEY)
    hub = _hub(request)
    if isinstance(agent_id, str) and hub.accounts.get(agent_id) is not None:
        hub.presence.set(agent_id, "offline")
    request.session.clear()
    return RedirectResponse("/agent/login", status_code=303)


async def console_page(request: Request) -> Response:
    try:
        current_agent(request)
    except (NotAuthenticated, Forbidden):
        return RedirectResponse("/agent/login", status_code=303)
    return FileResponse(STATIC_DIR / "agent.html", media_type="text/html; charset=utf-8")


# -- JSON API ------------------------------------------------------------------------------------------------


async def me(request: Request) -> Response:
    agent = current_agent(request)
    hub = _hub(request)
    return JSONResponse(
        {
            "agent": agent_dict(agent),
            "canned_replies": [{"title": c.title, "text": c.text} for c in hub.canned_replies],
            "dispositions": texts.DISPOSITIONS,
            "queues": {name: list(skills) for name, skills in QUEUES.items()},
            "reason_labels": texts.REASON_LABELS,
            "timezone": hub.settings.timezone.key,  # times the hub writes (e.g. identity checks) are in this zone
            "video": {
                "ice_servers": hub.video.ice_servers(),
                # what the console shows when its own camera fails (the hub stores the same as a notice)
                "fallback_texts": {r: texts.VIDEO_FALLBACK[("agent", r)][1] for r in FALLBACK_REASONS},
            },
        }
    )


async def set_presence(request: Request) -> Response:
    agent = current_agent(request)
    body = await _object(request)
    updated = _hub(request).presence.set(agent.id, str(body.get("presence")))
    return JSONResponse({"agent": agent_dict(updated)})


async def queues(request: Request) -> Response:
    current_agent(request)
    return JSONResponse({"queues": _hub(request).queues.snapshot()})


async def colleagues(request: Request) -> Response:
    current_agent(request)
    hub = _hub(request)
    with hub.store.transaction() as tx:
        loads = tx.agent_loads()
    return JSONResponse(
        {"agents": [{**agent_dict(a), "load": loads.get(a.id, 0)} for a in hub.accounts.all() if a.role == "agent"]}
    )


async def my_conversations(request: Request) -> Response:
    agent = current_agent(request)
    return JSONResponse({"conversations": _hub(request).desk.mine(agent.id)})


async def conversation_detail(request: Request) -> Response:
    current_agent(request)
    return JSONResponse(_hub(request).desk.detail(request.path_params["conversation_id"]))


async def accept_next(request: Request) -> Response:
    agent = current_agent(request)
    conversation = _hub(request).desk.accept_next(agent.id)
    return JSONResponse({"conversation_id": conversation.id})


async def accept(request: Request) -> Response:
    agent = current_agent(request)
    conversation = _hub(request).desk.accept(agent.id, request.path_params["conversation_id"])
    return JSONResponse({"conversation_id": conversation.id})


async def post_message(request: Request) -> Response:
    agent = current_agent(request)
    body = await _object(request)
    conversation_id = request.path_params["conversation_id"]
    message, duplicate = _send(_hub(request), agent, conversation_id, body)
    return JSONResponse({"seq": message.seq, "duplicate": duplicate}, status_code=200 if duplicate else 201)


async def transfer(request: Request) -> Response:
    agent = current_agent(request)
    body = await _object(request)
    conversation = _hub(request).desk.transfer(
        agent.id,
        request.path_params["conversation_id"],
        to_agent=_optional_str(body, "to_agent"),
        queue=_optional_str(body, "queue"),
        skill=_optional_str(body, "skill"),
        note=body.get("note") or "",
    )
    return JSONResponse({"status": conversation.status})


async def resolve(request: Request) -> Response:
    agent = current_agent(request)
    body = await _object(request)
    conversation = _hub(request).desk.resolve(
        agent.id, request.path_params["conversation_id"], str(body.get("disposition")), body.get("note") or ""
    )
    return JSONResponse({"status": conversation.status})


async def identity_check(request: Request) -> Response:
    """The interpreter vouches for the customer's identity (seen on video); Rasa hears of it on resolve."""
    agent = current_agent(request)
    body = await _object(request)
    check, created = _hub(request).identity_checks.record(
        agent.id, request.path_params["conversation_id"], body.get("method", "video")
    )
    return JSONResponse(
        {"identity_check": identity_check_dict(check, agent.display_name), "created": created},
        status_code=201 if created else 200,
    )


async def tickets(request: Request) -> Response:
    current_agent(request)
    return JSONResponse(
        {
            "tickets": [
                {
                    "id": t.id,
                    "conversation_id": t.conversation_id,
                    "queue": t.queue,
                    "reason": t.reason,
                    "callback_number": t.callback_number,
                    "text": t.text,
                    "created_at": t.created_at.isoformat(),
                }
                for t in _hub(request).tickets.open_tickets()
            ]
        }
    )


async def _object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象。")
    return body


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{key} must be a string")
    return value


def _send(hub: Hub, agent: Agent, conversation_id: Any, frame: dict[str, Any]) -> Any:
    if not isinstance(conversation_id, str):
        raise ValidationFailed("conversation_id must be a string")
    if frame.get("note"):
        return hub.desk.note(agent.id, conversation_id, frame.get("text"), client_msg_id(frame))
    return hub.desk.send(agent.id, conversation_id, frame.get("text"), client_msg_id(frame))


# -- websocket -----------------------------------------------------------------------------------------------


def _same_origin(websocket: WebSocket) -> bool:
    """Browsers send Origin on websocket handshakes; refuse other sites riding on the session cookie."""
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


async def agent_socket(websocket: WebSocket) -> None:
    hub = _hub(websocket)
    try:
        if not _same_origin(websocket):
            raise Forbidden("跨站连接被拒绝。")
        agent = current_agent(websocket)
    except HubError as exc:
        await deny_websocket(websocket, exc)
        return
    connection = Connection(websocket)
    await connection.accept()
    hub.presence.heartbeat(agent.id)
    subscription = hub.bus.subscribe(Audience.AGENT, agent.id)
    cursors: dict[str, int] = {}
    try:
        await connection.send({"type": "hello", "agent": agent_dict(agent)})
        await _send_overview(hub, connection, agent.id)
        await run_session(
            _read(hub, connection, subscription, agent, cursors),
            _write(hub, connection, subscription, agent.id, cursors),
        )
    except ConnectionStateError:
        pass  # the client left while we were still sending
    finally:
        subscription.close()
        await connection.close()


async def _send_overview(hub: Hub, connection: Connection, agent_id: str) -> None:
    await connection.send({"type": "queues", "queues": hub.queues.snapshot()})
    await connection.send({"type": "mine", "conversations": hub.desk.mine(agent_id)})
    current = hub.accounts.get(agent_id)
    if current is not None:
        await connection.send({"type": "presence", "agent": agent_dict(current)})


async def _write(
    hub: Hub, connection: Connection, subscription: Subscription, agent_id: str, cursors: dict[str, int]
) -> None:
    while True:
        batch = await subscription.next_batch()
        for frame in batch.frames:  # typing / status first: they happened before the messages they announce
            await connection.send(frame)
        for conversation_id in batch.conversations:
            if conversation_id not in cursors:
                continue
            for message in hub.conversations.messages_after(
                conversation_id, cursors[conversation_id], include_notes=True
            ):
                await connection.send(message_frame(message))
                cursors[conversation_id] = message.seq
        if batch.agents_changed:
            await _send_overview(hub, connection, agent_id)


async def _read(
    hub: Hub, connection: Connection, subscription: Subscription, agent: Agent, cursors: dict[str, int]
) -> None:
    while True:
        text = await connection.receive()
        frame: dict[str, Any] = {}
        try:
            frame = parse_frame(text)
            kind = frame["type"]
            conversation_id = frame.get("conversation_id")
            if kind == "ping":
                hub.presence.heartbeat(agent.id)
                await connection.send({"type": "pong"})
            elif kind == "watch":
                after = frame.get("after", 0)
                if not isinstance(conversation_id, str) or not isinstance(after, int) or after < 0:
                    raise MalformedFrame("watch needs conversation_id and after")
                hub.conversations.get(conversation_id)
                cursors[conversation_id] = after
                subscription.watch(conversation_id)
            elif kind == "unwatch":
                if isinstance(conversation_id, str):
                    cursors.pop(conversation_id, None)
                    subscription.unwatch(conversation_id)
            elif kind == "message":
                message, duplicate = _send(hub, agent, conversation_id, frame)
                await connection.send(
                    {
                        "type": "ack",
                        "conversation_id": conversation_id,
                        "client_msg_id": message.client_msg_id,
                        "seq": message.seq,
                        "duplicate": duplicate,
                    }
                )
            elif kind == "typing":
                if isinstance(conversation_id, str):
                    hub.desk.typing(agent.id, conversation_id)
            elif kind in SIGNAL_TYPES:
                hub.video.from_agent(agent.id, frame)
            else:
                raise MalformedFrame(f"未知的消息类型：{kind[:32]}")
        except HubError as exc:
            context = {"client_msg_id": frame["client_msg_id"]} if isinstance(frame.get("client_msg_id"), str) else {}
            if isinstance(frame.get("conversation_id"), str):
                context["conversation_id"] = frame["conversation_id"]
            if isinstance(frame.get("type"), str):
                context["request_type"] = frame["type"][:32]
            await connection.send(error_frame(exc, **context))


routes = [
    Route("/agent", console_page),
    Route("/agent/login", login_page, methods=["GET"]),
    Route("/agent/login", login, methods=["POST"]),
    Route("/agent/logout", logout, methods=["POST"]),
    Route("/agent/api/me", me),
    Route("/agent/api/presence", set_presence, methods=["POST"]),
    Route("/agent/api/queues", queues),
    Route("/agent/api/agents", colleagues),
    Route("/agent/api/conversations", my_conversations),
    Route("/agent/api/conversations/{conversation_id}", conversation_detail),
    Route("/agent/api/accept-next", accept_next, methods=["POST"]),
    Route("/agent/api/conversations/{conversation_id}/accept", accept, methods=["POST"]),
    Route("/agent/api/conversations/{conversation_id}/messages", post_message, methods=["POST"]),
    Route("/agent/api/conversations/{conversation_id}/transfer", transfer, methods=["POST"]),
    Route("/agent/api/conversations/{conversation_id}/resolve", resolve, methods=["POST"]),
    Route("/agent/api/conversations/{conversation_id}/identity-check", identity_check, methods=["POST"]),
    Route("/agent/api/tickets", tickets),
    WebSocketRoute("/agent/ws", agent_socket),
]
