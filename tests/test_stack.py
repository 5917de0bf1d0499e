"""The whole stack over real connections: hub → Rasa (trained model) → action server → knowledge base.

A customer asks an FAQ through the hub's websocket and gets the knowledge base's answer; asks for a person
and is queued with the context packet; an agent accepts and resolves; the bot answers again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
import yaml

from tests.conftest import RASA_TOKEN, RasaStack
from tests.hub.support.clients import is_message, is_type, login, receive_until
from tests.hub.support.hub_process import HubProcess

pytestmark = pytest.mark.slow

BOT_REPLY_TIMEOUT_SECONDS = 90.0  # the first turn warms the action server's embedding model
FAQ_ID = "early-001"


@pytest.fixture(scope="module")
def hub(rasa_stack: RasaStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    env = {"KEFU_RASA_URL": rasa_stack.rasa_url, "KEFU_RASA_TOKEN": RASA_TOKEN}
    process = HubProcess(tmp_path_factory.mktemp("stack-hub"), env, port=rasa_stack.hub_port).start()
    try:
        yield process
    finally:
        process.stop()


def _faq(project_root: Path, faq_id: str) -> dict[str, object]:
    for path in (project_root / "knowledge_base" / "data" / "faqs").glob("*.yml"):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["faqs"]:
            if entry["id"] == faq_id:
                return dict(entry)
    raise LookupError(faq_id)


def _ws(hub: HubProcess, conversation_id: str) -> str:
    return f"ws://127.0.0.1:{hub.port}/ws/conversations/{conversation_id}"


async def _say(customer: websockets.WebSocketClientProtocol, message_id: str, text: str) -> None:
    await customer.send(json.dumps({"type": "message", "client_msg_id": message_id, "text": text}))


async def test_customer_gets_faq_answer_then_a_person_then_the_bot_again(hub: HubProcess, project_root: Path) -> None:
    faq = _faq(project_root, FAQ_ID)
    agent = login(hub.url, "agent1", "kefu-agent1")
    assert agent.post("/agent/api/presence", json={"presence": "away"}).status_code == 200  # accepts by hand
    conversation_id = httpx.post(f"{hub.url}/api/conversations", json={"customer_id": "cust-good"}).json()[
        "conversation_id"
    ]
    async with websockets.connect(_ws(hub, conversation_id)) as customer:
        await _say(customer, "c1", str(faq["question"]))
        answer = (await receive_until(customer, is_message("bot"), BOT_REPLY_TIMEOUT_SECONDS))[-1]
        assert answer["text"] == str(faq["answer"]).strip()

        await _say(customer, "c2", "转人工")
        frames = await receive_until(customer, is_type("queue"), BOT_REPLY_TIMEOUT_SECONDS)
        assert frames[-1]["text"].startswith("前面还有 0 位")
        # the bot's own reply to the handoff turn comes back from Rasa after the action has queued the customer
        queued = (await receive_until(customer, is_message("bot"), BOT_REPLY_TIMEOUT_SECONDS))[-1]
        assert queued["text"].startswith("已为您转接人工客服")

        assert agent.post("/agent/api/accept-next").json() == {"conversation_id": conversation_id}
        context = agent.get(f"/agent/api/conversations/{conversation_id}").json()["handoff"]["context"]
        assert context["reason"] == "explicit_request"
        assert context["last_intent"]["name"] == "request_human"
        assert any(turn.get("text") == faq["question"] for turn in context["transcript"])

        resolved = agent.post(f"/agent/api/conversations/{conversation_id}/resolve", json={"disposition": "resolved"})
        assert resolved.json() == {"status": "closed"}
        await receive_until(customer, is_message("system", "rating_request"))

        await _say(customer, "c3", "你好")
        echoed = await receive_until(customer, lambda f: f.get("client_msg_id") == "c3" and f.get("type") == "message")
        assert echoed[-1]["text"] == "你好"
        greeting = (await receive_until(customer, is_message("bot"), BOT_REPLY_TIMEOUT_SECONDS))[-1]
        assert "小微" in greeting["text"]
