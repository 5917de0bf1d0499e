"""``GET /metrics`` and the middleware feeding it, over a real uvicorn with a fake Rasa."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from hub.exceptions import RasaUnavailable
from hub.routes.metrics import TimedBotChannel
from hub.services.rasa import BotReply
from tests.hub.routes.conftest import Served
from tests.hub.support.clients import is_message, receive_until, service_headers


def scrape(served: Served) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{served.url}/metrics", headers=service_headers())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_counts_http_requests_by_handler_name_not_path(served: Served) -> None:
    before = scrape(served)
    assert httpx.get(f"{served.url}/healthz").status_code == 200
    assert httpx.get(f"{served.url}/api/conversations/no-such-id").status_code == 404
    after = scrape(served)
    health = {"endpoint": "health", "method": "GET", "status": "200"}
    missing = {"endpoint": "get_conversation", "method": "GET", "status": "404"}
    assert (
        value(after, "kefu_hub_http_requests_total", **health)
        == value(before, "kefu_hub_http_requests_total", **health) + 1
    )
    assert value(after, "kefu_hub_http_requests_total", **missing) >= 1
    assert value(after, "kefu_hub_http_request_seconds_count", endpoint="health") >= 1
    assert not any("no-such-id" in str(key) for key in after)


async def test_metrics_times_the_bot_and_counts_websocket_frames(served: Served) -> None:
    before = scrape(served)
    conversation_id = httpx.post(f"{served.url}/api/conversations", json={}).json()["conversation_id"]
    async with websockets.connect(served.customer_ws(conversation_id)) as ws:
        await ws.send(json.dumps({"type": "message", "client_msg_id": "m1", "text": "日利率是多少"}))
        await receive_until(ws, is_message("bot"))
        during = scrape(served)
    after = scrape(served)
    assert value(during, "kefu_hub_websocket_connections", endpoint="customer_socket") == 1
    assert value(after, "kefu_hub_websocket_connections", endpoint="customer_socket") == 0
    frames_in = value(after, "kefu_hub_websocket_frames_total", endpoint="customer_socket", direction="in")
    assert frames_in == value(before, "kefu_hub_websocket_frames_total", endpoint="customer_socket", direction="in") + 1
    assert value(after, "kefu_hub_websocket_frames_total", endpoint="customer_socket", direction="out") >= 4
    assert value(after, "kefu_hub_bot_reply_seconds_count") == value(before, "kefu_hub_bot_reply_seconds_count") + 1
    assert value(after, "kefu_hub_bot_reply_seconds_sum") > value(before, "kefu_hub_bot_reply_seconds_sum")


class DownBot:
    async def send_message(self, conversation_id: str, text: str, metadata: Any = None) -> list[BotReply]:
        raise RasaUnavailable()


async def test_timed_bot_channel_counts_a_failure_and_still_times_it() -> None:
    errors, count = _sample("kefu_hub_bot_errors_total"), _sample("kefu_hub_bot_reply_seconds_count")
    with pytest.raises(RasaUnavailable):
        await TimedBotChannel(DownBot()).send_message("c1", "你好")
    assert _sample("kefu_hub_bot_errors_total") == errors + 1
    assert _sample("kefu_hub_bot_reply_seconds_count") == count + 1


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0
