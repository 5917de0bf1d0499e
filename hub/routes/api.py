"""JSON API: conversations and video settings for the widget, handoffs for the action server, health.

``POST /api/handoffs`` takes the service token (``routes/service_auth.py``); the widget's endpoints need none.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub import texts
from hub.exceptions import BadRequest, MalformedFrame
from hub.routes.service_auth import require_service
from hub.services import Hub
from hub.services.conversations import message_frame
from hub.services.handoffs import MAX_PACKET_BYTES, parse_handoff_request

# Ordinary API bodies are tiny; the handoff packet has its own, larger limit.
MAX_BODY_BYTES = 16 * 1024


async def read_json(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
    """The request's JSON body (an empty body reads as ``{}``); too large or not JSON is a 400."""
    body = await request.body()
    if len(body) > limit:
        raise BadRequest("请求体过大。")
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError as exc:
        raise BadRequest("请求体不是合法的 JSON。") from exc


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def create_conversation(request: Request) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象。")
    customers = _hub(request).customers
    conversation = customers.start(body.get("customer_id"))
    return JSONResponse(
        {
            "conversation_id": conversation.id,
            "status": conversation.status,
            "customer_id": conversation.customer_id,
            "prefers_sign_language": customers.prefers_sign_language(conversation.customer_id),
        },
        status_code=201,
    )


async def get_conversation(request: Request) -> Response:
    hub = _hub(request)
    conversation = hub.conversations.get(request.path_params["conversation_id"])
    position = hub.queues.position(conversation.id)
    return JSONResponse(
        {
            "conversation": hub.conversations.state(conversation),
            "customer_id": conversation.customer_id,
            "prefers_sign_language": hub.customers.prefers_sign_language(conversation.customer_id),
            "queue": position.frame() if position else None,
        }
    )


async def list_messages(request: Request) -> Response:
    after = request.query_params.get("after", "0")
    if not after.isdigit():
        raise MalformedFrame("after must be a sequence number")
    messages = _hub(request).conversations.messages_after(
        request.path_params["conversation_id"], int(after), include_notes=False
    )
    return JSONResponse({"messages": [message_frame(m) for m in messages]})


async def video_settings(request: Request) -> Response:
    """What the widget needs for a sign-language video call: ICE servers and its Chinese labels."""
    return JSONResponse({"ice_servers": _hub(request).video.ice_servers(), "texts": texts.VIDEO_WIDGET})


async def create_handoff(request: Request) -> Response:
    """The action server's context packet → queued / with an agent / unavailable (ticket offered)."""
    require_service(request)
    request_ = parse_handoff_request(await read_json(request, MAX_PACKET_BYTES))
    outcome = _hub(request).handoffs.request(request_)
    if (console := getattr(request.app.state, "trainer", None)) is not None:
        console.inbox.record_handoff(request_.context)  # the trainer's inbox: the question the bot could not help with
    return JSONResponse(outcome.to_dict(), status_code=200)


routes = [
    Route("/healthz", health),
    Route("/api/conversations", create_conversation, methods=["POST"]),
    Route("/api/conversations/{conversation_id}", get_conversation),
    Route("/api/conversations/{conversation_id}/messages", list_messages),
    Route("/api/handoffs", create_handoff, methods=["POST"]),
    Route("/api/video", video_settings),
]
