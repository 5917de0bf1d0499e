"""actions/unanswered.py: unanswered questions reach the hub's inbox, and a missing or slow hub never breaks a reply."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from actions import faq, unanswered
from knowledge_base.service import KnowledgeBase
from tests.hub.support.servers import ThreadedServer
from tests.knowledge_base.tiny import build_tiny_model, tiny_settings
from tests.support.servers import free_port


class Inbox:
    """The hub's ``POST /api/unanswered``, recording what it receives; ``delay`` makes it slow."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self.delay = 0.0
        self.app = Starlette(routes=[Route("/api/unanswered", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> JSONResponse:
        await asyncio.sleep(self.delay)
        self.received.append(json.loads(await request.body()))
        self.authorizations.append(request.headers.get("authorization"))
        return JSONResponse({"stored": True}, status_code=201)


@pytest.fixture(scope="module")
def inbox_server() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox()
    with ThreadedServer(inbox.app) as server:
        yield inbox, server.url


@pytest.fixture
def inbox(inbox_server: tuple[Inbox, str], monkeypatch: pytest.MonkeyPatch) -> Inbox:
    monkeypatch.setenv("KEFU_HUB_URL", inbox_server[1])
    monkeypatch.setenv("KEFU_HUB_SERVICE_TOKEN", "inbox-test-service-token")
    inbox_server[0].received.clear()
    inbox_server[0].authorizations.clear()
    inbox_server[0].delay = 0.0
    return inbox_server[0]


def tracker(text: str, sender: str = "conv-1") -> Tracker:
    return Tracker(sender, {}, {"text": text, "intent": {"name": "faq"}}, [], False, None, {}, "action_listen")


async def test_report_posts_question_outcome_and_candidates(inbox: Inbox) -> None:
    candidates = [{"faq_id": "limit-001", "question": "怎么提高额度？", "score": 0.5}]

    assert await unanswered.report_unanswered(tracker("借款多久到账"), "no_answer", candidates)

    assert inbox.received == [
        {"conversation_id": "conv-1", "text": "借款多久到账", "outcome": "no_answer", "candidates": candidates}
    ]


async def test_report_sends_the_hub_service_token(inbox: Inbox) -> None:
    assert await unanswered.report_unanswered(tracker("借款多久到账"), "no_answer")

    assert inbox.authorizations == ["Bearer inbox-test-service-token"]


async def test_report_skips_button_payloads_and_empty_messages(inbox: Inbox) -> None:
    assert not await unanswered.report_unanswered(tracker('/faq{"faq_id":"limit-001"}'), "clarify")
    assert not await unanswered.report_unanswered(tracker("   "), "clarify")
    assert inbox.received == []


async def test_report_with_hub_down_returns_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_HUB_URL", f"http://127.0.0.1:{free_port()}")

    assert not await unanswered.report_unanswered(tracker("借款多久到账"), "no_answer")


async def test_report_to_slow_hub_gives_up_after_the_timeout(inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unanswered, "REPORT_TIMEOUT_SECONDS", 0.2)
    inbox.delay = 2.0
    started = time.monotonic()

    assert not await unanswered.report_unanswered(tracker("借款多久到账"), "no_answer")

    assert time.monotonic() - started < 1.5


@pytest.fixture(scope="module")
def tiny_knowledge_base(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("kb")
    return KnowledgeBase.open(tiny_settings(root, build_tiny_model(root / "tiny")))


async def test_faq_action_reports_what_it_cannot_answer_and_still_replies(
    inbox: Inbox, tiny_knowledge_base: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(faq, "knowledge_base", lambda: tiny_knowledge_base)
    dispatcher = CollectingDispatcher()

    await faq.ActionAnswerFaq().run(dispatcher, tracker("我想订机票", "conv-2"), {})
    await faq.ActionAnswerFaq().run(CollectingDispatcher(), tracker("提额有什么办法", "conv-3"), {})
    await faq.ActionDefaultFallback().run(CollectingDispatcher(), tracker("今天天气好吗", "conv-4"), {})

    assert [message["response"] for message in dispatcher.messages] == ["utter_faq_no_answer"]
    assert [(r["conversation_id"], r["text"], r["outcome"]) for r in inbox.received] == [
        ("conv-2", "我想订机票", "no_answer"),
        ("conv-4", "今天天气好吗", "fallback"),
    ]
