"""The service token on the endpoints only our own processes call, over a real uvicorn: missing or wrong → 401."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatusCode

from tests.conftest import HUB_SERVICE_TOKEN
from tests.hub.routes.conftest import Served
from tests.hub.support.clients import is_message, login, receive_until, service_headers

WRONG = service_headers("not-the-hub-service-token")
BASIC = {"Authorization": "Basic dXNlcjpwYXNz"}  # another scheme carries no bearer token
Post = Callable[[Served, dict[str, str]], httpx.Response]


def _new_conversation(served: Served) -> str:
    return str(httpx.post(f"{served.url}/api/conversations", json={}).json()["conversation_id"])


def _post_handoff(served: Served, headers: dict[str, str]) -> httpx.Response:
    packet = {"conversation_id": _new_conversation(served), "reason": "explicit_request"}
    return httpx.post(f"{served.url}/api/handoffs", json=packet, headers=headers)


def _post_unanswered(served: Served, headers: dict[str, str]) -> httpx.Response:
    report = {"conversation_id": _new_conversation(served), "text": "借款多久到账", "outcome": "no_answer"}
    return httpx.post(f"{served.url}/api/unanswered", json=report, headers=headers)


def _assert_refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert "KEFU_HUB_SERVICE_TOKEN" in response.json()["error"]["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("post", [_post_handoff, _post_unanswered], ids=["handoffs", "unanswered"])
def test_service_post_without_a_token_is_401_missing(served: Served, post: Post) -> None:
    _assert_refused(post(served, {}), "service_token_missing")
    _assert_refused(post(served, BASIC), "service_token_missing")


@pytest.mark.parametrize("post", [_post_handoff, _post_unanswered], ids=["handoffs", "unanswered"])
def test_service_post_with_a_wrong_token_is_401_invalid(served: Served, post: Post) -> None:
    _assert_refused(post(served, WRONG), "service_token_invalid")


def test_handoff_with_the_token_queues_the_customer(served: Served) -> None:
    agent = login(served.url, "agent1", "kefu-agent1")
    assert agent.post("/agent/api/presence", json={"presence": "away"}).status_code == 200

    response = _post_handoff(served, service_headers())

    assert (response.status_code, response.json()["status"]) == (200, "queued")


def test_unanswered_report_with_the_token_is_stored(served: Served) -> None:
    response = _post_unanswered(served, service_headers())

    assert (response.status_code, response.json()) == (201, {"stored": True})


def test_refused_handoff_changes_nothing(served: Served) -> None:
    conversation_id = _new_conversation(served)
    packet = {"conversation_id": conversation_id, "reason": "explicit_request"}

    assert httpx.post(f"{served.url}/api/handoffs", json=packet, headers=WRONG).status_code == 401

    assert served.hub.conversations.get(conversation_id).status == "bot"


def test_metrics_need_the_token(served: Served) -> None:
    _assert_refused(httpx.get(f"{served.url}/metrics"), "service_token_missing")
    _assert_refused(httpx.get(f"{served.url}/metrics", headers=WRONG), "service_token_invalid")

    response = httpx.get(f"{served.url}/metrics", headers=service_headers())

    assert response.status_code == 200 and "kefu_hub_http_requests_total" in response.text


def test_metrics_open_to_a_trainer_session_but_not_an_agent_session(served: Served) -> None:
    trainer = login(served.url, "trainer1", "kefu-trainer1")
    agent = login(served.url, "agent1", "kefu-agent1")

    assert trainer.get("/metrics").status_code == 200
    assert agent.get("/metrics").status_code == 403
    assert trainer.get("/metrics", headers=WRONG).status_code == 401  # a token, if sent, must be right


async def test_echo_without_a_token_is_refused_before_the_handshake(served: Served) -> None:
    for headers in ({}, WRONG):
        with pytest.raises(InvalidStatusCode) as refused:
            async with websockets.connect(f"{served.ws_url}/ws/echo", extra_headers=headers):
                pass
        assert refused.value.status_code == 401
    with pytest.raises(InvalidStatusCode) as refused:
        async with websockets.connect(f"{served.ws_url}/ws/echo?token=not-the-hub-service-token"):
            pass
    assert refused.value.status_code == 401


@pytest.mark.parametrize("how", ["header", "query"])
async def test_echo_with_the_token_echoes(served: Served, how: str) -> None:
    url = f"{served.ws_url}/ws/echo" + (f"?token={HUB_SERVICE_TOKEN}" if how == "query" else "")
    headers = service_headers() if how == "header" else {}
    async with websockets.connect(url, extra_headers=headers) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "echo", "frame": {"type": "ping"}}


async def test_action_server_with_a_wrong_token_cannot_hand_off(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEFU_HUB_SERVICE_TOKEN", "not-the-hub-service-token")  # the fake Rasa's action_handoff
    conversation_id = _new_conversation(served)
    async with websockets.connect(served.customer_ws(conversation_id)) as customer:
        turn = {"type": "message", "client_msg_id": "c1", "text": "转人工", "payload": "/request_human"}
        await customer.send(json.dumps(turn))
        reply = (await receive_until(customer, is_message("bot")))[-1]

    assert reply["text"] == served.rasa.responses["utter_handoff_failed"]
    assert served.hub.conversations.get(conversation_id).status == "bot"
