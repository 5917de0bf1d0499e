"""Rasa tracker sync: slot events go out with the resume, in one request, and survive a Rasa hiccup."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from hub.services import rasa
from hub.services.background import BackgroundTasks
from hub.services.rasa import RasaClient, RasaTrackerSync, identity_slots


class RecordingRasa:
    """An httpx transport standing in for Rasa's tracker endpoint; fails the first ``failures`` requests."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.bodies: list[Any] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.failures:
            self.failures -= 1
            return httpx.Response(503)
        assert request.url.path == "/conversations/c1/tracker/events"
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, json={})


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa, "TRACKER_RETRY_FIRST_DELAY_SECONDS", 0.01)


async def test_slots_are_sent_with_the_resume_in_one_request() -> None:
    recorder = RecordingRasa()
    sync = RasaTrackerSync(RasaClient("http://rasa", 5, httpx.MockTransport(recorder)), BackgroundTasks())
    sync.set_slots("c1", identity_slots("video"))
    sync.resume("c1")
    await sync.flush("c1")
    assert recorder.bodies == [
        [
            {"event": "slot", "name": "verified", "value": True},
            {"event": "slot", "name": "verification_method", "value": "video"},
            {"event": "resume"},
        ]
    ]


async def test_slots_are_kept_and_resent_when_rasa_is_briefly_down() -> None:
    recorder = RecordingRasa(failures=2)
    sync = RasaTrackerSync(RasaClient("http://rasa", 5, httpx.MockTransport(recorder)), BackgroundTasks())
    sync.set_slots("c1", {"verified": True})
    sync.resume("c1")
    await sync.flush("c1")
    assert recorder.bodies == [[{"event": "slot", "name": "verified", "value": True}, {"event": "resume"}]]


async def test_pause_alone_is_still_one_event() -> None:
    recorder = RecordingRasa()
    sync = RasaTrackerSync(RasaClient("http://rasa", 5, httpx.MockTransport(recorder)), BackgroundTasks())
    sync.pause("c1")
    await sync.flush("c1")
    assert recorder.bodies == [[{"event": "pause"}]]


async def test_rasa_client_sends_the_api_token_with_tracker_events() -> None:
    import httpx

    from hub.services.rasa import RasaClient

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    client = RasaClient("http://rasa", 5.0, transport=httpx.MockTransport(handler), token="s3cret")
    await client.append_event("conv-1", "pause")
    await client.close()
    assert seen[0].url.params["token"] == "s3cret"
    assert seen[0].url.path == "/conversations/conv-1/tracker/events"
