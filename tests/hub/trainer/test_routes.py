"""hub/routes/trainer.py: only trainers get in (an agent gets 403 on every route), and the JSON API end to end."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from hub.routes import trainer as trainer_routes
from hub.services import Hub
from hub.services.trainer import Trainer
from tests.hub.support.clients import service_headers
from tests.hub.trainer.conftest import log_in

REBUILD_TIMEOUT_SECONDS = 60

TRAINER_ENDPOINTS = [
    (method, re.sub(r"\{(\w+)(:int)?\}", lambda m: "1" if m.group(2) else "x", route.path))
    for route in trainer_routes.routes
    if isinstance(route, Route) and route.path.startswith("/trainer")
    for method in sorted(route.methods or ())
    if method != "HEAD"
]


@pytest.mark.parametrize(("method", "path"), TRAINER_ENDPOINTS, ids=[f"{m} {p}" for m, p in TRAINER_ENDPOINTS])
def test_every_trainer_route_refuses_agents_and_strangers(app_client: TestClient, method: str, path: str) -> None:
    anonymous = app_client.request(method, path, json={} if method != "GET" else None, follow_redirects=False)
    if path == "/trainer":
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/agent/login"
    else:
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"

    log_in(app_client, "agent9")
    as_agent = app_client.request(method, path, json={} if method != "GET" else None, follow_redirects=False)

    assert as_agent.status_code == 403
    if path != "/trainer":
        assert as_agent.json()["error"]["code"] == "forbidden"


def test_trainer_login_lands_on_the_console_and_not_on_agent_apis(app_client: TestClient) -> None:
    response = app_client.post("/agent/login", data={"username": "trainer9", "password": "password-123"})

    assert response.url.path == "/trainer" and "训练师控制台" in response.text
    assert app_client.get("/trainer/api/me").json()["trainer"]["id"] == "trainer9"
    assert app_client.get("/agent/api/me").status_code == 403


def test_faq_crud_and_validation_errors_over_http(app_client: TestClient, console: Trainer) -> None:
    log_in(app_client, "trainer9")

    listed = app_client.get("/trainer/api/faqs", params={"q": "额度"}).json()
    assert {faq["id"] for faq in listed["faqs"]} == {"limit-001", "limit-002"}

    body = {
        "category": "额度",
        "question": "借款多久到账？",
        "paraphrases": "借款到账要多久\n钱什么时候到",  # one per line, as the form sends them
        "answer": "几分钟。",
    }
    created = app_client.post("/trainer/api/faqs", json=body)
    assert created.status_code == 201 and created.json()["faq"]["id"] == "limit-003"

    invalid = app_client.put(
        "/trainer/api/faqs/limit-003", json={**body, "paraphrases": ["逾期会怎么样？"], "version": "stale"}
    )
    assert invalid.status_code == 409 and invalid.json()["error"]["code"] == "edit_conflict"

    version = app_client.get("/trainer/api/faqs/limit-003").json()["faq"]["version"]
    invalid = app_client.put(
        "/trainer/api/faqs/limit-003", json={**body, "paraphrases": ["逾期会怎么样？"], "version": version}
    )
    error = invalid.json()["error"]
    assert invalid.status_code == 422 and error["code"] == "invalid_training_data"
    assert error["problems"][0]["file"] == "limit.yml" and error["problems"][0]["field"] == "paraphrases[0]"

    history = app_client.get("/trainer/api/history", params={"faq_id": "limit-003"}).json()["changes"]
    assert [change["action"] for change in history] == ["create"]
    assert console.knowledge.wait_idle(REBUILD_TIMEOUT_SECONDS)
    assert app_client.get("/trainer/api/index").json()["index"]["state"] == "done"


def test_try_it_shows_top_candidates_and_decision(app_client: TestClient, console: Trainer) -> None:
    log_in(app_client, "trainer9")

    result = app_client.post("/trainer/api/try", json={"question": "提额有什么办法"}).json()

    assert result["decision"] == "answer" and result["answer_faq_id"] == "limit-001"
    assert [c["faq_id"] for c in result["candidates"]] == ["limit-001", "overdue-001", "limit-002"]
    assert result["candidates"][0]["chosen"] and result["candidates"][0]["score"] == pytest.approx(1.0)


def test_action_server_report_is_masked_and_deduplicated(app_client: TestClient, console: Trainer) -> None:
    report = {"conversation_id": "c1", "text": "卡号6222021234567890123怎么还款", "outcome": "no_answer"}

    assert app_client.post("/api/unanswered", json=report, headers=service_headers()).status_code == 201
    assert app_client.post("/api/unanswered", json=report, headers=service_headers()).status_code == 200
    assert (
        app_client.post("/api/unanswered", json={**report, "outcome": "x"}, headers=service_headers()).status_code
        == 422
    )

    log_in(app_client, "trainer9")
    inbox = app_client.get("/trainer/api/unanswered").json()
    assert inbox["total"] == 1 and inbox["groups"][0]["examples"][0]["text"] == "卡号[银行卡号]怎么还款"


def test_handoff_intake_logs_the_question(app_client: TestClient, hub: Hub) -> None:
    conversation = hub.customers.start(None)
    packet = {
        "conversation_id": conversation.id,
        "reason": "kb_no_answer",
        "transcript": [{"sender": "customer", "text": "借款到账多久，我手机13812345678", "intent": "faq"}],
    }

    assert app_client.post("/api/handoffs", json=packet, headers=service_headers()).status_code == 200

    log_in(app_client, "trainer9")
    [group] = app_client.get("/trainer/api/unanswered").json()["groups"]
    assert group["examples"][0]["text"] == "借款到账多久，我手机[手机号]" and group["outcomes"] == {"handoff": 1}


def test_inbox_attach_over_http(app_client: TestClient, console: Trainer) -> None:
    app_client.post(
        "/api/unanswered",
        json={"conversation_id": "c1", "text": "借款到账多久", "outcome": "no_answer"},
        headers=service_headers(),
    )
    log_in(app_client, "trainer9")
    [group] = app_client.get("/trainer/api/unanswered").json()["groups"]

    result = app_client.post("/trainer/api/unanswered/attach", json={"ids": group["ids"], "faq_id": "limit-002"})

    assert result.status_code == 200 and result.json()["closed"] == 1
    assert app_client.get("/trainer/api/unanswered").json()["groups"] == []
    assert console.knowledge.wait_idle(REBUILD_TIMEOUT_SECONDS)


def test_intents_over_http(app_client: TestClient) -> None:
    log_in(app_client, "trainer9")

    names = [intent["name"] for intent in app_client.get("/trainer/api/intents").json()["intents"]]
    saved = app_client.put("/trainer/api/intents/repay", json={"examples": ["我要还款", "怎么还钱", "还款日期"]})
    refused = app_client.put("/trainer/api/intents/repay", json={"examples": ["我要还款", "你好"]})

    assert names == ["goodbye", "greet", "repay"]
    assert saved.status_code == 200 and saved.json()["intent"]["examples"][-1] == "还款日期"
    assert refused.status_code == 422 and "greet" in refused.json()["error"]["problems"][0]["reason"]


def test_report_has_containment_per_day_and_kb_metrics(app_client: TestClient, hub: Hub, console: Trainer) -> None:
    contained = hub.customers.start(None)
    hub.customers.send(contained.id, "额度怎么提高")
    handed = hub.customers.start(None)
    hub.customers.send(handed.id, "转人工")
    hub.conversations.enqueue(handed.id, reason="explicit_request", queue="human", skill="loan", context={})
    hub.customers.start(None)  # opened the widget, wrote nothing: not counted
    log_in(app_client, "trainer9")

    first = app_client.get("/trainer/api/report").json()
    console.report.wait_kb_metrics(REBUILD_TIMEOUT_SECONDS)
    second = app_client.get("/trainer/api/report").json()

    today = first["containment"][-1]
    assert len(first["containment"]) == 14
    assert today == {"date": today["date"], "conversations": 2, "contained": 1, "rate": 0.5}
    assert first["knowledge_base"]["state"] == "computing"
    kb = second["knowledge_base"]
    assert kb["state"] == "ready" and kb["questions"] == 4 and kb["top1"] == 1.0 and kb["abstain_precision"] == 1.0
    assert second["intents"] is None  # nothing trained yet
