"""The customer websocket over real connections: ack after store, resume, dedupe, bad input."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatusCode

from tests.hub.routes.conftest import Served
from tests.hub.support.clients import is_message, is_type, receive_until
from tests.hub.support.fake_rasa import FAQ_ANSWER


def start(served: Served, customer_id: str | None = None) -> str:
    response = httpx.post(f"{served.url}/api/conversations", json={"customer_id": customer_id})
    assert response.status_code == 201
    return str(response.json()["conversation_id"])


async def test_message_is_acked_with_its_seq_and_the_bot_answers(served: Served) -> None:
    conversation_id = start(served, "cust-good")
    async with websockets.connect(served.customer_ws(conversation_id)) as ws:
        state = json.loads(await ws.recv())
        assert (state["type"], state["status"]) == ("state", "bot")
        await ws.send(json.dumps({"type": "message", "client_msg_id": "c1", "text": "日利率是多少"}))
        frames = await receive_until(ws, is_message("bot"))
    ack = next(f for f in frames if f["type"] == "ack")
    assert (ack["client_msg_id"], ack["seq"], ack["duplicate"]) == ("c1", 1, False)
    assert [f["seq"] for f in frames if f["type"] == "message"] == [1, 2]
    assert any(f["type"] == "typing" and f["who"] == "bot" for f in frames)
    bot = frames[-1]
    assert bot["text"] == FAQ_ANSWER and bot["data"]["buttons"][1] == {"title": "转人工", "payload": "/request_human"}
    assert served.rasa.received[0]["metadata"] == {"customer_id": "cust-good"}
    assert served.rasa.received[0]["sender"] == conversation_id


async def test_button_payload_goes_to_rasa_and_the_title_is_shown(served: Served) -> None:
    conversation_id = start(served)
    async with websockets.connect(served.customer_ws(conversation_id)) as ws:
        await ws.send(
            json.dumps(
                {"type": "message", "client_msg_id": "b1", "text": "如何提前还款", "payload": "/faq_early_repayment"}
            )
        )
        frames = await receive_until(ws, is_message("bot"))
    assert served.rasa.received[0]["message"] == "/faq_early_repayment"
    assert next(f for f in frames if is_message("customer")(f))["text"] == "如何提前还款"
    assert "metadata" not in served.rasa.received[0]


async def test_reconnect_with_the_last_seq_replays_only_what_was_missed(served: Served) -> None:
    conversation_id = start(served)
    async with websockets.connect(served.customer_ws(conversation_id)) as ws:
        await ws.send(json.dumps({"type": "message", "client_msg_id": "c1", "text": "第一个问题"}))
        await receive_until(ws, is_message("bot"))
    # While disconnected, the bot answered nothing new, but an earlier reply was not seen: resume after seq 1.
    async with websockets.connect(served.customer_ws(conversation_id, after=1)) as ws:
        frames = await receive_until(ws, is_message("bot"))
    assert [f["seq"] for f in frames if f["type"] == "message"] == [2]


async def test_resending_after_a_drop_is_not_doubled(served: Served) -> None:
    conversation_id = start(served)
    async with websockets.connect(served.customer_ws(conversation_id)) as ws:
        await ws.send(json.dumps({"type": "message", "client_msg_id": "c1", "text": "在吗"}))
        await receive_until(ws, is_message("bot"))
    async with websockets.connect(served.customer_ws(conversation_id, after=0)) as ws:
        await ws.send(json.dumps({"type": "message", "client_msg_id": "c1", "text": "在吗"}))
        frames = await receive_until(ws, is_type("ack"))
    assert frames[-1]["duplicate"] is True and frames[-1]["seq"] == 1
    messages = httpx.get(f"{served.url}/api/conversations/{conversation_id}/messages").json()["messages"]
    assert [(m["sender"], m["text"]) for m in messages] == [("customer", "在吗"), ("bot", FAQ_ANSWER)]
    assert len(served.rasa.received) == 1


@pytest.mark.parametrize(
    "raw",
    ["not json", "[1, 2]", '{"type": 5}', '{"text": "no type"}', '{"type": "fly"}', '{"type": "message"}',
     '{"type": "message", "text": "hi", "client_msg_id": "has spaces"}', b"\x00\x01binary"],
)  # fmt: skip
async def test_malformed_frame_gets_an_error_frame_and_the_connection_survives(
    served: Served, raw: str | bytes
) -> None:
    conversation_id = start(served)
    async with websockets.connect(served.customer_ws(conversation_id)) as ws:
        await ws.recv()  # state
        await ws.send(raw)
        error = json.loads(await ws.recv())
        assert error["type"] == "error" and error["code"] in ("malformed_frame", "invalid_request")
        assert error["message"]
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}


async def test_message_over_2000_characters_is_refused_with_a_clear_message(served: Served) -> None:
    conversation_id = start(served)
    async with websockets.connect(served.customer_ws(conversation_id)) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "message", "client_msg_id": "long", "text": "长" * 2001}))
        error = json.loads(await ws.recv())
        assert (error["type"], error["code"], error["client_msg_id"]) == ("error", "message_too_long", "long")
        assert "2000" in error["message"]
        await ws.send(json.dumps({"type": "message", "client_msg_id": "ok", "text": "长" * 2000}))
        frames = await receive_until(ws, is_type("ack"))
        assert frames[-1]["seq"] == 1
    assert served.hub.conversations.get(conversation_id).last_seq >= 1


async def test_html_is_stored_and_sent_back_as_plain_text(served: Served) -> None:
    conversation_id = start(served)
    xss = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    async with websockets.connect(served.customer_ws(conversation_id)) as ws:
        await ws.send(json.dumps({"type": "message", "client_msg_id": "x", "text": xss}))
        frames = await receive_until(ws, is_message("customer"))
    assert frames[-1]["text"] == xss  # unchanged: the widget renders it with textContent


async def test_chinese_text_is_sent_unescaped(served: Served) -> None:
    conversation_id = start(served)
    async with websockets.connect(served.customer_ws(conversation_id)) as ws:
        await ws.send(json.dumps({"type": "message", "client_msg_id": "zh", "text": "你好，微粒贷"}, ensure_ascii=True))
        raw_frames = []
        while True:
            raw = await ws.recv()
            raw_frames.append(raw)
            if '"sender":"customer"' in raw:
                break
    assert "你好，微粒贷" in raw_frames[-1] and "\\u" not in raw_frames[-1]
    http = httpx.get(f"{served.url}/api/conversations/{conversation_id}/messages")
    assert "你好，微粒贷".encode() in http.content and b"\\u" not in http.content


async def test_unknown_conversation_is_404_for_http_and_websocket(served: Served) -> None:
    response = httpx.get(f"{served.url}/api/conversations/does-not-exist")
    assert response.status_code == 404 and response.json()["error"]["code"] == "conversation_not_found"
    assert httpx.get(f"{served.url}/api/conversations/does-not-exist/messages").status_code == 404
    with pytest.raises(InvalidStatusCode) as error:
        async with websockets.connect(served.customer_ws("does-not-exist")):
            pass
    assert error.value.status_code == 404


async def test_rating_frames_are_validated(served: Served) -> None:
    conversation_id = start(served)
    async with websockets.connect(served.customer_ws(conversation_id)) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "rate", "handoff_id": 999, "score": 5}))
        error = json.loads(await ws.recv())
        assert (error["code"], error["status"]) == ("handoff_not_found", 404)
        await ws.send(json.dumps({"type": "rate", "handoff_id": 1, "score": "five"}))
        assert json.loads(await ws.recv())["code"] == "invalid_request"


def test_create_conversation_rejects_unknown_profiles_and_bad_json(served: Served) -> None:
    assert httpx.post(f"{served.url}/api/conversations", json={"customer_id": "cust-x"}).status_code == 422
    bad = httpx.post(f"{served.url}/api/conversations", content=b"{oops", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
