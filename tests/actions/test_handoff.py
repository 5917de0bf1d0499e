"""action_handoff: the context packet it posts, the routing, and what the customer hears back."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoff, context_packet
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICE_TOKEN = "handoff-test-service-token"


class FakeHub:
    """Records POST /api/handoffs bodies and answers with ``reply`` (status ``status_code``)."""

    def __init__(self) -> None:
        self.packets: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # the Authorization header of each request
        self.reply: Any = {"status": "queued", "queue": "human", "skill": "loan", "ahead": 2, "wait_minutes": 5}
        self.status_code = 200
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hub.packets.append({"path": self.path, **json.loads(self.rfile.read(length))})
                hub.authorizations.append(self.headers.get("Authorization"))
                body = json.dumps(hub.reply, ensure_ascii=False).encode()
                self.send_response(hub.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    hub = FakeHub()
    monkeypatch.setenv("KEFU_HUB_URL", hub.url)
    monkeypatch.setenv("KEFU_HUB_SERVICE_TOKEN", SERVICE_TOKEN)
    yield hub
    hub.close()


def user(text: str, intent: str, confidence: float = 0.95) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": confidence}}}


def bot(text: str) -> dict[str, Any]:
    return {"event": "bot", "text": text}


def make_tracker(
    events: list[dict[str, Any]], slots: dict[str, Any] | None = None, active_loop: str | None = None
) -> Tracker:
    last = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker(
        sender_id="conv-42",
        slots=slots or {},
        latest_message={"text": last["text"], "intent": last["parse_data"]["intent"]},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


async def run(tracker: Tracker) -> tuple[CollectingDispatcher, list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff().run(dispatcher, tracker, {})
    return dispatcher, events


async def test_handoff_posts_the_context_packet(fake_hub: FakeHub) -> None:
    tracker = make_tracker(
        [user("怎么提前还款", "early_repayment"), bot("您可以随时提前还款。"), user("转人工", "request_human", 0.97)],
        slots={
            "handoff_reason": "explicit_request",
            "customer_id": "cust-good",
            "verified": True,
            "prefers_sign_language": False,
            "kb_candidates": [{"faq_id": "repay-003", "question": "如何提前还款", "score": 0.62}],
        },
    )
    await run(tracker)
    (packet,) = fake_hub.packets
    assert packet["path"] == "/api/handoffs"
    assert packet["conversation_id"] == "conv-42"
    assert (packet["reason"], packet["queue"], packet["skill"]) == ("explicit_request", "human", "loan")
    assert packet["last_intent"] == {"name": "request_human", "confidence": 0.97}
    assert packet["verified"] is True
    assert packet["customer"] == {"customer_id": "cust-good", "prefers_sign_language": False}
    assert packet["kb_candidates"] == [{"faq_id": "repay-003", "question": "如何提前还款", "score": 0.62}]
    assert [(t["sender"], t["text"]) for t in packet["transcript"]] == [
        ("customer", "怎么提前还款"),
        ("bot", "您可以随时提前还款。"),
        ("customer", "转人工"),
    ]
    assert packet["transcript"][0]["intent"] == "early_repayment"


async def test_handoff_queued_tells_position_and_wait(fake_hub: FakeHub) -> None:
    dispatcher, events = await run(
        make_tracker([user("转人工", "request_human")], {"handoff_reason": "explicit_request"})
    )
    assert dispatcher.messages[0]["response"] == "utter_handoff_queued"
    assert (dispatcher.messages[0]["ahead"], dispatcher.messages[0]["wait_minutes"]) == (2, 5)
    assert events == [SlotSet("handoff_reason", None)]


@pytest.mark.parametrize(
    ("events", "slots", "route"),
    [
        (
            [user("手语", "request_sign_language")],
            {"handoff_reason": "sign_language"},
            ("sign_language", "interpreter"),
        ),
        ([user("我要投诉", "complain")], {"handoff_reason": "complaint"}, ("human", "complaint")),
        ([user("卡丢了", "report_fraud_or_loss")], {"handoff_reason": "fraud"}, ("human", "account")),
        ([user("查余额", "check_balance"), user("转人工", "request_human")], {}, ("human", "account")),
        ([user("我要借钱", "apply_loan"), user("转人工", "request_human")], {}, ("human", "loan")),
        ([user("你好", "greet"), user("转人工", "request_human")], {}, ("human", "loan")),
        ([user("验证码错了", "inform")], {"handoff_reason": "identity_locked"}, ("human", "account")),
    ],
)
async def test_handoff_routes_by_reason_and_business_area(
    fake_hub: FakeHub, events: list[dict[str, Any]], slots: dict[str, Any], route: tuple[str, str]
) -> None:
    await run(make_tracker(events, slots))
    assert (fake_hub.packets[0]["queue"], fake_hub.packets[0]["skill"]) == route


def test_reason_comes_from_the_intent_when_the_slot_is_empty() -> None:
    assert context_packet(make_tracker([user("我要投诉", "complain")]))["reason"] == "complaint"
    assert context_packet(make_tracker([user("？？", "nlu_fallback", 0.2)]))["reason"] == "fallback"


def test_other_actions_reason_names_are_normalised() -> None:
    tracker = make_tracker([user("利率", "faq")], {"handoff_reason": "kb_unavailable"})
    assert context_packet(tracker)["reason"] == "backend_failure"


def test_transcript_keeps_the_last_50_turns() -> None:
    events = [user(f"问题 {i}", "faq") for i in range(60)]
    turns = context_packet(make_tracker(events))["transcript"]
    assert len(turns) == 50 and turns[-1]["text"] == "问题 59"


@pytest.mark.parametrize(
    ("reply", "response"),
    [
        ({"status": "agent", "queue": "human", "agent_name": "张敏"}, "utter_handoff_connected"),
        ({"status": "unavailable", "queue": "human", "reason": "after_hours"}, "utter_handoff_after_hours"),
        (
            {"status": "unavailable", "queue": "sign_language", "reason": "after_hours"},
            "utter_sign_language_after_hours",
        ),
        ({"status": "unavailable", "queue": "human", "reason": "no_agents"}, "utter_handoff_unavailable"),
        (
            {"status": "queued", "queue": "sign_language", "ahead": 0, "wait_minutes": 3},
            "utter_handoff_queued_sign_language",
        ),
    ],
)
async def test_handoff_answers_with_the_response_for_the_outcome(
    fake_hub: FakeHub, reply: dict[str, Any], response: str
) -> None:
    fake_hub.reply = reply
    dispatcher, _ = await run(make_tracker([user("转人工", "request_human")]))
    assert [m["response"] for m in dispatcher.messages] == [response]


async def test_handoff_to_a_person_ends_an_active_form(fake_hub: FakeHub) -> None:
    _, events = await run(make_tracker([user("转人工", "request_human")], active_loop="loan_form"))
    assert ActiveLoop(None) in events and SlotSet("requested_slot", None) in events


async def test_hub_unreachable_apologises_without_a_stack_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_HUB_URL", f"http://127.0.0.1:{free_port()}")
    dispatcher, events = await run(
        make_tracker([user("转人工", "request_human")], {"handoff_reason": "explicit_request"})
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_failed"]
    assert events == [SlotSet("handoff_reason", None)]


async def test_handoff_sends_the_hub_service_token(fake_hub: FakeHub) -> None:
    await run(make_tracker([user("转人工", "request_human")]))
    assert fake_hub.authorizations == [f"Bearer {SERVICE_TOKEN}"]


async def test_handoff_without_a_service_token_sends_no_authorization(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEFU_HUB_SERVICE_TOKEN")
    await run(make_tracker([user("转人工", "request_human")]))
    assert fake_hub.authorizations == [None]


async def test_hub_refusing_the_token_apologises_and_names_the_setting(
    fake_hub: FakeHub, caplog: pytest.LogCaptureFixture
) -> None:
    fake_hub.status_code, fake_hub.reply = 401, {"error": {"code": "service_token_invalid"}}
    dispatcher, _ = await run(make_tracker([user("转人工", "request_human")]))
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_failed"]
    assert "KEFU_HUB_SERVICE_TOKEN" in caplog.text


@pytest.mark.parametrize(("status_code", "reply"), [(500, {"error": {}}), (200, {"what": "?"}), (404, {"error": {}})])
async def test_hub_error_answers_are_treated_as_unavailable(fake_hub: FakeHub, status_code: int, reply: Any) -> None:
    fake_hub.status_code, fake_hub.reply = status_code, reply
    dispatcher, _ = await run(make_tracker([user("转人工", "request_human")]))
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_failed"]


def test_every_response_the_action_uses_is_in_the_handoff_domain() -> None:
    domain = yaml.safe_load((ROOT / "bot" / "domain" / "handoff.yml").read_text(encoding="utf-8"))
    source = (ROOT / "actions" / "handoff.py").read_text(encoding="utf-8")
    used = set(re.findall(r'"(utter_[a-z_]+)"', source))
    assert "utter_handoff_queued" in used
    assert used <= set(domain["responses"]), used - set(domain["responses"])
    assert "action_handoff" in domain["actions"]
    assert set(domain["slots"]) == {"handoff_reason"}


def test_rules_hand_off_for_every_handoff_intent() -> None:
    rules = yaml.safe_load((ROOT / "bot" / "data" / "rules" / "handoff.yml").read_text(encoding="utf-8"))["rules"]
    pairs = {(rule["steps"][0]["intent"], rule["steps"][1]["action"]) for rule in rules}
    assert pairs == {
        ("request_human", "action_handoff"),
        ("request_sign_language", "action_handoff"),
        ("complain", "action_handoff"),
        ("report_fraud_or_loss", "action_handoff"),
    }
