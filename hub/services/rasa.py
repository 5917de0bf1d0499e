"""The one client for the Rasa server: the REST channel for messages, the HTTP API for tracker events.

Rasa must run with ``--enable-api`` (tracker events) and the ``rest`` channel in credentials.yml.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from hub.exceptions import RasaUnavailable
from hub.services.background import BackgroundTasks

log = logging.getLogger(__name__)

# Tracker events are retried with doubling delays from this start: Rasa may be restarting or busy with
# the very message that triggered the handoff (it holds the conversation lock until it has answered).
TRACKER_RETRY_FIRST_DELAY_SECONDS = 0.5
# 0.5 + 1 + 2 + 4 + 8 + 16 s ≈ half a minute of retries covers a Rasa restart without piling up forever.
TRACKER_RETRY_ATTEMPTS = 6
# A tracker event is a tiny request; if Rasa needs longer than this it is not healthy.
TRACKER_TIMEOUT_SECONDS = 10.0

# Slots the hub sets when a person checked the customer's identity (bot/domain/identity.yml; the loan and
# account actions read ``verified``; ``verification_method`` says it was not the bot's SMS code).
VERIFIED_SLOT = "verified"
VERIFICATION_METHOD_SLOT = "verification_method"


def identity_slots(method: str) -> dict[str, Any]:
    """The slot values that tell the bot a person verified the customer (e.g. by video)."""
    return {VERIFIED_SLOT: True, VERIFICATION_METHOD_SLOT: method}


@dataclass(frozen=True)
class BotReply:
    """One message from the bot (REST channel format)."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    image: str | None = None
    custom: dict[str, Any] | None = None

    @classmethod
    def from_rest(cls, item: Mapping[str, Any]) -> BotReply:
        buttons = [
            {"title": str(button.get("title", "")), "payload": str(button.get("payload", ""))}
            for button in item.get("buttons") or []
            if isinstance(button, Mapping)
        ]
        custom = item.get("custom")
        return cls(
            text=str(item.get("text") or ""),
            buttons=buttons,
            image=str(item["image"]) if item.get("image") else None,
            custom=dict(custom) if isinstance(custom, Mapping) else None,
        )


class TrackerSync(Protocol):
    """Keeps Rasa's tracker in step with the hub: paused while people own the conversation."""

    def pause(self, conversation_id: str) -> None: ...

    def resume(self, conversation_id: str) -> None: ...

    def set_slots(self, conversation_id: str, slots: Mapping[str, Any]) -> None:
        """Set slots on the tracker; sent before (in the same request as) a pause/resume asked for after it."""
        ...

    async def flush(self, conversation_id: str) -> None:
        """Before the hub forwards a message: make sure a pending resume reached Rasa."""
        ...


class RasaClient:
    def __init__(
        self,
        base_url: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self._api_params = {"token": token} if token else {}  # Rasa's HTTP API (`--auth-token`), not the channel

    async def send_message(
        self, conversation_id: str, text: str, metadata: Mapping[str, Any] | None = None
    ) -> list[BotReply]:
        """Send one customer message through the REST channel and return the bot's replies."""
        body: dict[str, Any] = {"sender": conversation_id, "message": text}
        if metadata:
            body["metadata"] = dict(metadata)
        try:
            response = await self._client.post("/webhooks/rest/webhook", json=body)
            response.raise_for_status()
            items = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("Rasa REST channel failed for %s: %s", conversation_id, exc)
            raise RasaUnavailable() from exc
        if not isinstance(items, list):
            raise RasaUnavailable()
        return [BotReply.from_rest(item) for item in items if isinstance(item, Mapping)]

    async def append_event(self, conversation_id: str, event: str) -> None:
        """POST one event without parameters (``pause`` / ``resume``) to the conversation's tracker."""
        await self.append_events(conversation_id, [{"event": event}])

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        """POST events (e.g. ``{"event": "slot", "name": ..., "value": ...}``) to the tracker, in one request."""
        try:
            response = await self._client.post(
                f"/conversations/{conversation_id}/tracker/events",
                json=events,
                params=self._api_params,
                timeout=TRACKER_TIMEOUT_SECONDS,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable() from exc

    async def close(self) -> None:
        await self._client.aclose()


class RasaTrackerSync:
    """Posts pause/resume in the background with retries, never blocking the caller.

    The handoff request arrives *while* Rasa is still processing the customer's message (the action server
    calls the hub), and Rasa holds the conversation lock until then, so awaiting the pause there would
    deadlock. The latest wanted state per conversation wins; ``flush`` lets the message path wait for it.
    Slot values waiting to be sent go first, in the same request, so a resume never overtakes them.
    """

    def __init__(self, client: RasaClient, tasks: BackgroundTasks) -> None:
        self._client = client
        self._tasks = tasks
        self._wanted: dict[str, str] = {}
        self._slots: dict[str, dict[str, Any]] = {}
        self._running: dict[str, asyncio.Task[Any]] = {}

    def pause(self, conversation_id: str) -> None:
        self._want(conversation_id, "pause")

    def resume(self, conversation_id: str) -> None:
        self._want(conversation_id, "resume")

    def set_slots(self, conversation_id: str, slots: Mapping[str, Any]) -> None:
        self._slots.setdefault(conversation_id, {}).update(slots)
        self._start(conversation_id)

    async def flush(self, conversation_id: str) -> None:
        task = self._running.get(conversation_id)
        if task is not None:
            await asyncio.wait({task}, timeout=TRACKER_TIMEOUT_SECONDS)

    def _want(self, conversation_id: str, event: str) -> None:
        self._wanted[conversation_id] = event
        self._start(conversation_id)

    def _start(self, conversation_id: str) -> None:
        if conversation_id not in self._running:
            task = self._tasks.spawn(self._sync(conversation_id), name=f"rasa-tracker-{conversation_id}")
            self._running[conversation_id] = task

    async def _sync(self, conversation_id: str) -> None:
        delay = TRACKER_RETRY_FIRST_DELAY_SECONDS
        sent: str | None = None
        attempts = 0
        try:
            while True:
                wanted = self._wanted.get(conversation_id)
                slots = self._slots.pop(conversation_id, {})
                events: list[dict[str, Any]] = [
                    {"event": "slot", "name": name, "value": value} for name, value in slots.items()
                ]
                if wanted is not None and wanted != sent:
                    events.append({"event": wanted})
                if not events:
                    return
                try:
                    await self._client.append_events(conversation_id, events)
                    sent = wanted
                    attempts = 0
                except RasaUnavailable:
                    self._slots[conversation_id] = {**slots, **self._slots.get(conversation_id, {})}  # newer win
                    attempts += 1
                    if attempts >= TRACKER_RETRY_ATTEMPTS:
                        log.error("could not post %s to Rasa for %s; giving up", events, conversation_id)
                        return
                    await asyncio.sleep(delay)
                    delay *= 2
        finally:
            self._running.pop(conversation_id, None)
            if self._wanted.get(conversation_id) == sent:
                self._wanted.pop(conversation_id, None)


class RecordingTrackerSync:
    """A TrackerSync that only records what it was asked (service tests; running without Rasa)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.slots: list[tuple[str, dict[str, Any]]] = []

    def pause(self, conversation_id: str) -> None:
        self.events.append((conversation_id, "pause"))

    def resume(self, conversation_id: str) -> None:
        self.events.append((conversation_id, "resume"))

    def set_slots(self, conversation_id: str, slots: Mapping[str, Any]) -> None:
        self.slots.append((conversation_id, dict(slots)))

    async def flush(self, conversation_id: str) -> None:
        return None
