"""A stand-in for the Rasa server whose every message runs the real FAQ action against a real knowledge base.

Each customer message is taken as the ``faq`` intent and handed to ``actions.faq.ActionAnswerFaq`` with the
slots this fake keeps per conversation; a ``FollowupAction(action_handoff)`` runs the real ``ActionHandoff``.
So the answer comes from the real KnowledgeBase (actions/faq.py opens it from the ``KEFU_*`` environment and
reloads it when the index on disk changes), and a question it cannot answer is reported to the hub's inbox by
the real ``actions/unanswered.py``. Responses are the domain's (bot/domain/*.yml), first variant.
"""

from __future__ import annotations

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

from actions.faq import ActionAnswerFaq
from actions.handoff import ActionHandoff

DOMAIN_DIR = Path(__file__).resolve().parents[3] / "bot" / "domain"


class KnowledgeBaseRasa:
    def __init__(self) -> None:
        self.slots: dict[str, dict[str, Any]] = defaultdict(dict)
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.paused: set[str] = set()
        self.responses: dict[str, dict[str, Any]] = {}
        for path in sorted(DOMAIN_DIR.glob("*.yml")):
            domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            self.responses.update({name: variants[0] for name, variants in (domain.get("responses") or {}).items()})
        self.app = Starlette(
            routes=[
                Route("/webhooks/rest/webhook", self.webhook, methods=["POST"]),
                Route("/conversations/{conversation_id}/tracker/events", self.append_event, methods=["POST"]),
                Route("/status", self.status),
            ]
        )

    async def status(self, request: Request) -> JSONResponse:
        return JSONResponse({"model_file": "kefu-fake.tar.gz"})

    async def append_event(self, request: Request) -> JSONResponse:
        conversation_id = request.path_params["conversation_id"]
        body = await request.json()
        for item in body if isinstance(body, list) else [body]:
            if item["event"] == "pause":
                self.paused.add(conversation_id)
            elif item["event"] == "resume":
                self.paused.discard(conversation_id)
            elif item["event"] == "slot":
                self.slots[conversation_id][item["name"]] = item["value"]
        return JSONResponse({"sender_id": conversation_id})

    async def webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        sender, text = body["sender"], body["message"]
        if sender in self.paused:
            return JSONResponse([])
        latest = {"text": text, "intent": {"name": "faq", "confidence": 0.9}, "entities": []}
        self.events[sender].append({"event": "user", "text": text, "parse_data": latest, "timestamp": time.time()})
        dispatcher = CollectingDispatcher()
        events = await ActionAnswerFaq().run(dispatcher, self._tracker(sender, latest), {})
        handoff = self._apply(sender, events)
        if handoff:
            events = await ActionHandoff().run(dispatcher, self._tracker(sender, latest), {})
            self._apply(sender, events)
        replies = [self._reply(sender, message) for message in dispatcher.messages]
        for reply in replies:
            self.events[sender].append({"event": "bot", "text": reply.get("text"), "timestamp": time.time()})
        return JSONResponse(replies)

    def _tracker(self, sender: str, latest: dict[str, Any]) -> Tracker:
        return Tracker(
            sender_id=sender,
            slots=dict(self.slots[sender]),
            latest_message=latest,
            events=list(self.events[sender]),
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    def _apply(self, sender: str, events: list[dict[str, Any]]) -> bool:
        handoff = False
        for event in events:
            if event.get("event") == "slot":
                self.slots[sender][event["name"]] = event["value"]
            elif event.get("event") == "followup" and event.get("name") == "action_handoff":
                handoff = True
        return handoff

    def _reply(self, sender: str, message: dict[str, Any]) -> dict[str, Any]:
        name = message.get("response")
        template = self.responses.get(name, {}) if name else {}
        text = str(template.get("text") or message.get("text") or "").format_map(defaultdict(str, message))
        reply: dict[str, Any] = {"recipient_id": sender, "text": text}
        buttons = message.get("buttons") or template.get("buttons")
        if buttons:
            reply["buttons"] = buttons
        return reply
