"""Video signalling over the real websockets: it flows only between a sign-language customer and the
interpreter holding the conversation; everyone and everything else gets an error frame and nothing is relayed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import websockets
from websockets.legacy.client import WebSocketClientProtocol

from tests.hub.routes.conftest import Served
from tests.hub.support.clients import cookie_header, is_type, login, receive_until, service_headers

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {"candidate": "candidate:1 1 udp 2122194687 192.0.2.2 46801 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
READY = {"type": "rtc_ready", "peer_id": "p-1", "audio": True, "video": True}


def start(served: Served, customer_id: str) -> str:
    response = httpx.post(f"{served.url}/api/conversations", json={"customer_id": customer_id})
    return str(response.json()["conversation_id"])


def hand_off(served: Served, conversation_id: str, reason: str) -> str:
    """What action_handoff does; returns the outcome status (agent / queued)."""
    outcome = httpx.post(
        f"{served.url}/api/handoffs",
        json={"conversation_id": conversation_id, "reason": reason},
        headers=service_headers(),
    )
    return str(outcome.json()["status"])


def is_error(code: str) -> Any:
    return lambda frame: frame["type"] == "error" and frame["code"] == code


def is_text(text: str) -> Any:
    return lambda frame: frame["type"] == "message" and frame["text"] == text


def rtc_frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"].startswith("rtc_")]


class Sockets:
    """The websockets of one test, opened on demand and closed together."""

    def __init__(self, served: Served, stack: AsyncExitStack) -> None:
        self.served = served
        self.stack = stack

    async def customer(self, conversation_id: str) -> WebSocketClientProtocol:
        ws = await self.stack.enter_async_context(websockets.connect(self.served.customer_ws(conversation_id)))
        await receive_until(ws, is_type("state"))
        return ws

    async def agent(self, client: httpx.Client, *watching: str) -> WebSocketClientProtocol:
        ws = await self.stack.enter_async_context(
            websockets.connect(f"{self.served.ws_url}/agent/ws", extra_headers=cookie_header(client))
        )
        await receive_until(ws, is_type("presence"))
        for conversation_id in watching:
            await send(ws, {"type": "watch", "conversation_id": conversation_id, "after": 0})
        return ws


@asynccontextmanager
async def sockets(served: Served) -> AsyncIterator[Sockets]:
    async with AsyncExitStack() as stack:
        yield Sockets(served, stack)


async def send(ws: WebSocketClientProtocol, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame, ensure_ascii=False))


async def customer_says(ws: WebSocketClientProtocol, text: str) -> None:
    """A marker: it reaches everyone watching after anything relayed before it."""
    await send(ws, {"type": "message", "client_msg_id": f"m-{abs(hash(text))}", "text": text})


async def test_signals_flow_between_the_customer_and_their_interpreter_and_no_one_else(served: Served) -> None:
    interpreter = login(served.url, "interpreter1", "kefu-interpreter1")
    colleague = login(served.url, "agent2", "kefu-agent2")
    conversation_id = start(served, "cust-deaf")
    assert hand_off(served, conversation_id, "sign_language") == "agent"  # interpreter1 is online
    async with sockets(served) as open_:
        console = await open_.agent(interpreter, conversation_id)
        watcher = await open_.agent(colleague, conversation_id)  # any agent may read a transcript
        customer = await open_.customer(conversation_id)

        await send(customer, {**READY, "extra": "dropped"})
        ready = (await receive_until(console, is_type("rtc_ready")))[-1]
        assert ready == {**READY, "conversation_id": conversation_id, "from": "customer"}

        await send(console, {"type": "rtc_offer", "conversation_id": conversation_id, "call_id": "call-1", "sdp": SDP})
        offer = (await receive_until(customer, is_type("rtc_offer")))[-1]
        assert (offer["from"], offer["call_id"], offer["sdp"]) == ("agent", "call-1", SDP)

        await send(customer, {"type": "rtc_answer", "call_id": "call-1", "sdp": SDP})
        await send(customer, {"type": "rtc_candidate", "call_id": "call-1", "candidate": CANDIDATE})
        frames = await receive_until(console, is_type("rtc_candidate"))
        assert [f["type"] for f in rtc_frames(frames)] == ["rtc_answer", "rtc_candidate"]

        # The colleague watching the conversation sees the customer's message but none of the signalling.
        await customer_says(customer, "视频好了吗")
        assert rtc_frames(await receive_until(watcher, is_text("视频好了吗"))) == []

        # Hang-up: relayed, and a notice for both sides; the stay goes on in text.
        await send(customer, {"type": "rtc_hangup"})
        frames = await receive_until(console, lambda f: f.get("data", {}).get("event") == "video_ended")
        assert frames[-1]["data"]["agent_text"].startswith("客户已结束视频通话")
        hangup = next(f for f in frames if f["type"] == "rtc_hangup")
        assert hangup["notice"] == frames[-1]["data"]["agent_text"]


async def test_signals_outside_ones_own_live_video_stay_are_refused_and_deliver_nothing(served: Served) -> None:
    served.hub.accounts.create(
        "interpreter2", "kefu-interpreter2", display_name="赵雷（手语）", skills=("interpreter",), capacity=1
    )
    interpreter = login(served.url, "interpreter1", "kefu-interpreter1")
    other_interpreter = login(served.url, "interpreter2", "kefu-interpreter2")
    other_interpreter.post("/agent/api/presence", json={"presence": "away"})  # takes nobody automatically
    agent = login(served.url, "agent1", "kefu-agent1")

    video = start(served, "cust-deaf")
    assert hand_off(served, video, "sign_language") == "agent"  # → interpreter1 (capacity 1: now full)
    waiting = start(served, "cust-deaf")
    assert hand_off(served, waiting, "sign_language") == "queued"  # unassigned
    text = start(served, "cust-good")
    assert hand_off(served, text, "explicit_request") == "agent"  # → agent1, a text conversation

    async with sockets(served) as open_:
        console = await open_.agent(interpreter, video, waiting)
        intruder = await open_.agent(other_interpreter)
        text_agent = await open_.agent(agent, text)
        video_customer = await open_.customer(video)
        waiting_customer = await open_.customer(waiting)
        text_customer = await open_.customer(text)

        # Another agent cannot signal to interpreter1's customer.
        await send(intruder, {"type": "rtc_offer", "conversation_id": video, "call_id": "evil", "sdp": SDP})
        error = (await receive_until(intruder, is_type("error")))[-1]
        assert (error["code"], error["request_type"], error["conversation_id"]) == (
            "not_your_conversation", "rtc_offer", video,
        )  # fmt: skip
        # Another customer cannot reach interpreter1: not from a text conversation, not by naming the video one.
        await send(text_customer, READY)
        assert (await receive_until(text_customer, is_type("error")))[-1]["code"] == "not_video_conversation"
        await send(text_customer, {**READY, "conversation_id": video})
        raw = await asyncio.wait_for(text_customer.recv(), 5)
        assert "只能与本会话的手语翻译员进行视频通话" in str(raw)  # Chinese as is (ensure_ascii=False)
        assert json.loads(raw)["code"] == "not_your_conversation"
        # Nobody can signal in an unassigned (queued) conversation.
        await send(waiting_customer, READY)
        refused = (await receive_until(waiting_customer, is_error("invalid_transition")))[-1]
        assert refused["request_type"] == "rtc_ready"
        await send(console, {"type": "rtc_offer", "conversation_id": waiting, "call_id": "c-2", "sdp": SDP})
        assert (await receive_until(console, is_error("invalid_transition")))[-1]["conversation_id"] == waiting
        # Malformed signals are refused too.
        await send(video_customer, {"type": "rtc_answer", "call_id": "c-1", "sdp": "not sdp"})
        assert (await receive_until(video_customer, is_type("error")))[-1]["code"] == "invalid_request"

        # Nothing was relayed: each would-be recipient sees its marker message and no rtc_* frame before it.
        await customer_says(video_customer, "第一个标记")
        assert rtc_frames(await receive_until(video_customer, is_text("第一个标记"))) == []
        assert rtc_frames(await receive_until(console, is_text("第一个标记"))) == []
        await customer_says(waiting_customer, "第二个标记")
        assert rtc_frames(await receive_until(waiting_customer, is_text("第二个标记"))) == []
        assert rtc_frames(await receive_until(console, is_text("第二个标记"))) == []
        await customer_says(text_customer, "第三个标记")
        assert rtc_frames(await receive_until(text_agent, is_text("第三个标记"))) == []

        # Once the interpreter resolves, the conversation is closed: no more signalling either way.
        resolved = interpreter.post(f"/agent/api/conversations/{video}/resolve", json={"disposition": "resolved"})
        assert resolved.json() == {"status": "closed"}
        await receive_until(video_customer, lambda f: f["type"] == "state" and f["status"] == "closed")
        await send(video_customer, READY)
        refused = (await receive_until(video_customer, is_error("invalid_transition")))[-1]
        assert refused["request_type"] == "rtc_ready"
        await send(console, {"type": "rtc_hangup", "conversation_id": video})
        assert (await receive_until(console, is_error("invalid_transition")))[-1]["request_type"] == "rtc_hangup"
        await customer_says(video_customer, "第四个标记")
        assert rtc_frames(await receive_until(video_customer, is_text("第四个标记"))) == []
        assert rtc_frames(await receive_until(console, is_text("第四个标记"))) == []


async def test_identity_check_by_the_interpreter_reaches_rasa_when_the_stay_is_resolved(served: Served) -> None:
    interpreter = login(served.url, "interpreter1", "kefu-interpreter1")
    colleague = login(served.url, "agent2", "kefu-agent2")
    conversation_id = start(served, "cust-deaf")
    assert hand_off(served, conversation_id, "sign_language") == "agent"
    path = f"/agent/api/conversations/{conversation_id}/identity-check"

    refused = colleague.post(path, json={"method": "video"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_your_conversation")
    first = interpreter.post(path, json={"method": "video"})
    assert first.status_code == 201 and first.json()["created"]
    check = first.json()["identity_check"]
    assert (check["agent_id"], check["agent_name"], check["customer_id"], check["method"]) == (
        "interpreter1", "王芳（手语）", "cust-deaf", "video",
    )  # fmt: skip
    again = interpreter.post(path, json={"method": "video"})
    assert again.status_code == 200 and again.json()["identity_check"] == check
    detail = interpreter.get(f"/agent/api/conversations/{conversation_id}").json()
    assert detail["identity_check"]["checked_at"] == check["checked_at"]

    interpreter.post(f"/agent/api/conversations/{conversation_id}/resolve", json={"disposition": "resolved"})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while served.rasa.tracker_events[conversation_id][-1:] != ["resume"]:
        assert loop.time() < deadline, served.rasa.tracker_events[conversation_id]
        await asyncio.sleep(0.05)
    assert served.rasa.slots[conversation_id] == {"verified": True, "verification_method": "video"}
    assert served.rasa.tracker_events[conversation_id] == ["pause", "slot", "slot", "resume"]


def test_both_pages_get_the_ice_servers_and_the_widget_its_labels(served: Served) -> None:
    settings = httpx.get(f"{served.url}/api/video").json()
    assert settings["ice_servers"] == []
    assert settings["texts"]["no_camera"] == "未检测到摄像头，已为您切换为文字服务。"
    me = login(served.url, "interpreter1", "kefu-interpreter1").get("/agent/api/me").json()
    assert me["video"]["ice_servers"] == []
    assert me["video"]["fallback_texts"]["no_camera"] == "未检测到您的摄像头，已切换为文字服务，请通过文字与客户沟通。"
    created = httpx.post(f"{served.url}/api/conversations", json={"customer_id": "cust-deaf"}).json()
    assert created["prefers_sign_language"] is True
    conversation = httpx.get(f"{served.url}/api/conversations/{created['conversation_id']}").json()
    assert conversation["prefers_sign_language"] is True
