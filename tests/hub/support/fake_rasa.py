"""A tiny stand-in for the Rasa server: the REST channel and the tracker events endpoint.

It answers questions with a canned FAQ reply (with buttons), treats 转人工 / 手语 / 投诉 like the real
rules do by running the real ``action_handoff`` against a rasa-sdk tracker it keeps itself, and records
tracker events (one event or a list, like Rasa): pause/resume by name, slot events in ``slots``. While
paused it answers nothing, like Rasa. ``hold_handoff_replies`` (an unset ``threading.Event``) keeps the reply
to a handoff turn back until the test sets it: the customer is queued already, the reply is still on its way.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from actions.handoff import ActionHandoff

DOMAIN_FILE = Path(__file__).resolve().parents[3] / "bot" / "domain" / "handoff.yml"

INTENTS = {
    "/request_human": "request_human",
    "转人工": "request_human",
    "/request_sign_language": "request_sign_language",
    "手语视频服务": "request_sign_language",
    "我要投诉": "complain",
}
SLOT_FOR_INTENT = {
    "request_human": "explicit_request",
    "request_sign_language": "sign_language",
    "complain": "complaint",
}
FAQ_ANSWER = "微粒贷日利率为 0.02%–0.05%，按日计息，除利息外不收取其他费用。"
# A held handoff reply is released by the test within seconds; this only stops a broken test from hanging.
HOLD_TIMEOUT_SECONDS = 20.0
FAQ_BUTTONS = [
    {"title": "如何提前还款", "payload": "/faq_early_repayment"},
    {"title": "转人工", "payload": "/request_human"},
]


class FakeRasa:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.tracker_events: dict[str, list[str]] = defaultdict(list)
        self.slots: dict[str, dict[str, Any]] = defaultdict(dict)
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.paused: set[str] = set()
        self.delay_seconds = 0.0
        self.hold_handoff_replies: threading.Event | None = None
        domain = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
        self.responses: dict[str, str] = {name: variants[0]["text"] for name, variants in domain["responses"].items()}
        self.app = Starlette(
            routes=[
                Route("/webhooks/rest/webhook", self.webhook, methods=["POST"]),
                Route("/conversations/{conversation_id}/tracker/events", self.append_event, methods=["POST"]),
                Route("/status", self.status),
            ]
        )

    async def status(self, request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def append_event(self, request: Request) -> JSONResponse:
        conversation_id = request.path_params["conversation_id"]
        body = await request.json()
        for item in body if isinstance(body, list) else [body]:
            event = item["event"]
            self.tracker_events[conversation_id].append(event)
            if event == "pause":
                self.paused.add(conversation_id)
            elif event == "resume":
                self.paused.discard(conversation_id)
            elif event == "slot":
                self.slots[conversation_id][item["name"]] = item["value"]
        return JSONResponse({"sender_id": conversation_id, "paused": conversation_id in self.paused})

    async def webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        sender, text, metadata = body["sender"], body["message"], body.get("metadata") or {}
        self.received.append(body)
        if self.delay_seconds:
            time.sleep(self.delay_seconds)  # a slow NLU; blocks this thread only
        intent = INTENTS.get(text, "faq")
        self.events[sender].append(
            {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.98}},
             "metadata": metadata, "timestamp": time.time()}
        )  # fmt: skip
        if sender in self.paused:
            return JSONResponse([])
        if intent == "faq":
            self.events[sender].append({"event": "bot", "text": FAQ_ANSWER, "timestamp": time.time()})
            return JSONResponse([{"recipient_id": sender, "text": FAQ_ANSWER, "buttons": FAQ_BUTTONS}])
        replies = await self._handoff(sender, text, intent, metadata)
        if self.hold_handoff_replies is not None:
            await asyncio.to_thread(self.hold_handoff_replies.wait, HOLD_TIMEOUT_SECONDS)
        return JSONResponse(replies)

    async def _handoff(self, sender: str, text: str, intent: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        slots = {
            "handoff_reason": SLOT_FOR_INTENT[intent],
            "customer_id": metadata.get("customer_id"),
            "verified": None,  # not verified yet (false would mean "verification locked")
            "kb_candidates": [{"question": "如何提前还款", "score": 0.41}],
            "prefers_sign_language": metadata.get("customer_id") == "cust-deaf",
        }
        tracker = Tracker(
            sender_id=sender,
            slots=slots,
            latest_message={"text": text, "intent": {"name": intent, "confidence": 0.98}},
            events=list(self.events[sender]),
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )
        dispatcher = CollectingDispatcher()
        await ActionHandoff().run(dispatcher, tracker, {})
        replies = []
        for message in dispatcher.messages:
            name = message.get("response")
            text_out = self.responses.get(name, "") if name else message.get("text") or ""
            text_out = text_out.format_map(message)  # Rasa fills {placeholders} from utter_message kwargs
            replies.append({"recipient_id": sender, "text": text_out})
        return replies
