"""The whole handoff over real websockets: bot → queued → agent → closed → bot, Rasa paused and resumed."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatusCode

from tests.hub.routes.conftest import Served
from tests.hub.support.clients import cookie_header, is_message, is_type, login, receive_until, service_headers
from tests.hub.support.fake_rasa import FAQ_ANSWER


async def wait_for(condition: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_customer_and_agent_complete_a_handoff(served: Served) -> None:
    agent = login(served.url, "agent1", "kefu-agent1")
    assert agent.post("/agent/api/presence", json={"presence": "away"}).status_code == 200
    conversation_id = httpx.post(f"{served.url}/api/conversations", json={"customer_id": "cust-good"}).json()[
        "conversation_id"
    ]
    agent_ws_url = f"{served.ws_url}/agent/ws"
    async with (
        websockets.connect(served.customer_ws(conversation_id)) as customer,
        websockets.connect(agent_ws_url, extra_headers=cookie_header(agent)) as console,
    ):
        await receive_until(console, is_type("presence"))
        # 1. The customer asks for a person; the real action_handoff (inside the fake Rasa) calls the hub.
        await customer.send(
            json.dumps({"type": "message", "client_msg_id": "c1", "text": "转人工", "payload": "/request_human"})
        )
        frames = await receive_until(customer, is_type("queue"))
        assert frames[-1]["text"] == "前面还有 0 位，预计等待约 3 分钟"
        assert any(f.get("type") == "state" and f["status"] == "queued" for f in frames)
        bot = (await receive_until(customer, is_message("bot")))[-1]
        assert bot["text"].startswith("已为您转接人工客服，前面还有 0 位")
        await wait_for(lambda: served.rasa.tracker_events[conversation_id] == ["pause"])

        # 2. The agent sees the customer in the live queue and accepts.
        frames = await receive_until(
            console, lambda f: f["type"] == "queues" and any(q["waiting"] for q in f["queues"])
        )
        waiting = next(q for q in frames[-1]["queues"] if q["queue"] == "human")["waiting"]
        assert waiting[0]["conversation_id"] == conversation_id and waiting[0]["reason_label"] == "客户要求转人工"
        assert agent.post("/agent/api/accept-next").json() == {"conversation_id": conversation_id}
        detail = agent.get(f"/agent/api/conversations/{conversation_id}").json()
        assert detail["handoff"]["context"]["customer"]["customer_id"] == "cust-good"
        assert detail["handoff"]["context"]["last_intent"]["name"] == "request_human"
        assert detail["handoff"]["context"]["kb_candidates"] == [{"question": "如何提前还款", "score": 0.41}]
        frames = await receive_until(customer, lambda f: f.get("type") == "state" and f["status"] == "agent")
        assert frames[-1]["agent_name"] == "张敏"

        # 3. They talk; the agent's note stays internal.
        await console.send(
            json.dumps(
                {"type": "watch", "conversation_id": conversation_id, "after": detail["conversation"]["last_seq"]}
            )
        )
        await console.send(
            json.dumps(
                {"type": "message", "conversation_id": conversation_id, "client_msg_id": "a1", "text": "您好，我是张敏"}
            )
        )
        await console.send(
            json.dumps(
                {
                    "type": "message",
                    "conversation_id": conversation_id,
                    "client_msg_id": "n1",
                    "text": "老客户",
                    "note": True,
                }
            )
        )
        assert (await receive_until(customer, is_message("agent")))[-1]["text"] == "您好，我是张敏"
        await customer.send(json.dumps({"type": "typing"}))
        await customer.send(json.dumps({"type": "message", "client_msg_id": "c2", "text": "我想提前还款"}))
        frames = await receive_until(console, is_message("customer"))
        assert frames[-1]["text"] == "我想提前还款"
        assert any(f["type"] == "typing" and f["who"] == "customer" for f in frames)
        assert len(served.rasa.received) == 1  # nothing after the handoff went to the bot

        # 4. The agent resolves; Rasa is resumed; the customer is asked for a rating and gives it.
        resolved = agent.post(f"/agent/api/conversations/{conversation_id}/resolve", json={"disposition": "resolved"})
        assert resolved.json() == {"status": "closed"}
        rating = (await receive_until(customer, is_message("system", "rating_request")))[-1]
        await wait_for(lambda: served.rasa.tracker_events[conversation_id] == ["pause", "resume"])
        await customer.send(
            json.dumps({"type": "rate", "client_msg_id": "r1", "handoff_id": rating["data"]["handoff_id"], "score": 5})
        )
        assert (await receive_until(customer, is_message("system")))[-1]["text"] == "感谢您的评价！"

        # 5. The next question goes to the bot again.
        await customer.send(json.dumps({"type": "message", "client_msg_id": "c3", "text": "利率多少"}))
        frames = await receive_until(customer, is_message("bot"))
        assert frames[-1]["text"] == FAQ_ANSWER
    transcript = [
        m["text"] for m in httpx.get(f"{served.url}/api/conversations/{conversation_id}/messages").json()["messages"]
    ]
    assert "老客户" not in transcript  # notes never reach the customer
    assert [t for t in transcript if t in ("转人工", "您好，我是张敏", "我想提前还款", "利率多少")] == [
        "转人工", "您好，我是张敏", "我想提前还款", "利率多少",
    ]  # fmt: skip


async def test_outside_hours_the_customer_is_offered_a_ticket(served: Served) -> None:
    from datetime import datetime, timezone

    served.clock.set(datetime(2024, 5, 6, 15, 30, tzinfo=timezone.utc))  # 23:30 in Shanghai
    conversation_id = httpx.post(f"{served.url}/api/conversations", json={}).json()["conversation_id"]
    async with websockets.connect(served.customer_ws(conversation_id)) as customer:
        await customer.send(
            json.dumps({"type": "message", "client_msg_id": "c1", "text": "转人工", "payload": "/request_human"})
        )
        offer = (await receive_until(customer, is_message("system", "ticket_offer")))[-1]
        assert offer["data"] == {"reason": "after_hours", "queue": "human"}
        bot = (await receive_until(customer, is_message("bot")))[-1]
        assert bot["text"].startswith("人工客服的服务时间为每天 08:00–22:00")
        await customer.send(
            json.dumps(
                {"type": "ticket", "client_msg_id": "t1", "callback_number": "13800138000", "text": "明天请回电"}
            )
        )
        confirmation = (await receive_until(customer, is_message("system", "event")))[-1]
        assert "138****8000" in confirmation["text"]
    agent = login(served.url, "agent1", "kefu-agent1")
    tickets = agent.get("/agent/api/tickets").json()["tickets"]
    assert [(t["callback_number"], t["text"], t["reason"]) for t in tickets] == [
        ("13800138000", "明天请回电", "after_hours")
    ]


async def test_agent_socket_needs_a_session_and_the_same_origin(served: Served) -> None:
    with pytest.raises(InvalidStatusCode) as error:
        async with websockets.connect(f"{served.ws_url}/agent/ws"):
            pass
    assert error.value.status_code == 401
    agent = login(served.url, "agent1", "kefu-agent1")
    with pytest.raises(InvalidStatusCode) as error:
        async with websockets.connect(
            f"{served.ws_url}/agent/ws", extra_headers=cookie_header(agent), origin="http://evil.example"
        ):  # type: ignore[arg-type]
            pass
    assert error.value.status_code == 403


def test_login_rejects_a_wrong_password_and_hides_the_console(served: Served) -> None:
    wrong = httpx.post(f"{served.url}/agent/login", data={"username": "agent1", "password": "nope"})
    assert wrong.status_code == 401
    assert httpx.get(f"{served.url}/agent").status_code == 303
    assert httpx.get(f"{served.url}/agent/api/me").status_code == 401
    trainer = httpx.Client(base_url=served.url)
    assert (
        trainer.post("/agent/login", data={"username": "trainer1", "password": "kefu-trainer1"}).headers["location"]
        == "/trainer"
    )
    assert trainer.get("/trainer").status_code == 200
    assert trainer.get("/agent/api/me").status_code == 403


def test_agent_api_transfer_to_a_colleague(served: Served) -> None:
    agent1 = login(served.url, "agent1", "kefu-agent1")
    agent2 = login(served.url, "agent2", "kefu-agent2")
    agent2.post("/agent/api/presence", json={"presence": "away"})
    conversation_id = httpx.post(f"{served.url}/api/conversations", json={}).json()["conversation_id"]
    outcome = httpx.post(
        f"{served.url}/api/handoffs",
        json={"conversation_id": conversation_id, "reason": "fallback"},
        headers=service_headers(),
    )
    assert outcome.json()["status"] == "agent" and outcome.json()["agent_name"] == "张敏"
    moved = agent1.post(
        f"/agent/api/conversations/{conversation_id}/transfer", json={"to_agent": "agent2", "note": "请跟进"}
    )
    assert moved.status_code == 200
    assert [c["conversation_id"] for c in agent2.get("/agent/api/conversations").json()["conversations"]] == [
        conversation_id
    ]
    refused = agent1.post(
        f"/agent/api/conversations/{conversation_id}/messages", json={"text": "还在吗", "client_msg_id": "x"}
    )
    assert refused.status_code == 409 or refused.json()["error"]["code"] == "not_your_conversation"
