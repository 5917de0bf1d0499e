"""The handoff race over real HTTP: an agent accepts before Rasa's reply to the handoff turn is back.

The fake Rasa (a real local HTTP server) runs the real ``action_handoff``, which queues the customer in the
hub, then holds its reply until the test releases it — after the agent has accepted and written.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

import httpx
import websockets

from tests.hub.routes.conftest import Served
from tests.hub.support.clients import is_message, login, receive_until


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def transcript(served: Served, conversation_id: str) -> list[tuple[str, str]]:
    """What the customer's widget reads: (sender, text) in order."""
    response = httpx.get(f"{served.url}/api/conversations/{conversation_id}/messages")
    return [(m["sender"], m["text"]) for m in response.json()["messages"]]


def first_message_delivered(served: Served, conversation_id: str) -> bool:
    """The hub has finished the customer's turn: Rasa answered and the reply was stored or dropped."""
    first = served.hub.conversations.messages_after(conversation_id, 0, include_notes=False)[0]
    return first.delivered_at is not None


async def test_bot_reply_arriving_after_the_agent_joined_is_not_shown(served: Served) -> None:
    agent = login(served.url, "agent1", "kefu-agent1")
    assert agent.post("/agent/api/presence", json={"presence": "away"}).status_code == 200  # accepts by hand
    served.rasa.hold_handoff_replies = release = threading.Event()
    conversation_id = httpx.post(f"{served.url}/api/conversations", json={}).json()["conversation_id"]
    async with websockets.connect(served.customer_ws(conversation_id)) as customer:
        turn = {"type": "message", "client_msg_id": "c1", "text": "转人工", "payload": "/request_human"}
        await customer.send(json.dumps(turn))
        await receive_until(customer, lambda f: f.get("type") == "state" and f["status"] == "queued")

        assert agent.post("/agent/api/accept-next").json() == {"conversation_id": conversation_id}
        greeting = {"text": "您好，我是张敏", "client_msg_id": "a1"}
        assert agent.post(f"/agent/api/conversations/{conversation_id}/messages", json=greeting).status_code == 201
        await receive_until(customer, is_message("agent"))
        release.set()  # Rasa's reply to 转人工 ("已为您转接人工客服，前面还有 0 位…") comes back only now
        await wait_for(lambda: first_message_delivered(served, conversation_id))

    assert [sender for sender, _ in transcript(served, conversation_id)] == ["customer", "system", "system", "agent"]
    assert transcript(served, conversation_id)[-1] == ("agent", "您好，我是张敏")


async def test_bot_reply_arriving_while_still_queued_is_shown(served: Served) -> None:
    agent = login(served.url, "agent1", "kefu-agent1")
    assert agent.post("/agent/api/presence", json={"presence": "away"}).status_code == 200
    served.rasa.hold_handoff_replies = release = threading.Event()
    conversation_id = httpx.post(f"{served.url}/api/conversations", json={}).json()["conversation_id"]
    async with websockets.connect(served.customer_ws(conversation_id)) as customer:
        turn = {"type": "message", "client_msg_id": "c1", "text": "转人工", "payload": "/request_human"}
        await customer.send(json.dumps(turn))
        await receive_until(customer, lambda f: f.get("type") == "state" and f["status"] == "queued")
        release.set()
        bot = (await receive_until(customer, is_message("bot")))[-1]
        assert bot["text"].startswith("已为您转接人工客服，前面还有 0 位")

        assert agent.post("/agent/api/accept-next").json() == {"conversation_id": conversation_id}
        await receive_until(customer, lambda f: f.get("type") == "state" and f["status"] == "agent")

    assert [sender for sender, _ in transcript(served, conversation_id)] == ["customer", "system", "bot", "system"]
