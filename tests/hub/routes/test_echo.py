"""``/ws/echo``: the no-op websocket the benchmark measures the hub's own floor with."""

from __future__ import annotations

import json

import websockets

from tests.hub.routes.conftest import Served
from tests.hub.support.clients import service_headers


async def test_echo_sends_the_frame_back_with_chinese_kept(served: Served) -> None:
    frame = {"type": "message", "client_msg_id": "e1", "text": "提前还款要手续费吗"}
    async with websockets.connect(f"{served.ws_url}/ws/echo", extra_headers=service_headers()) as ws:
        await ws.send(json.dumps(frame, ensure_ascii=False))
        raw = await ws.recv()
    assert "提前还款" in raw  # ensure_ascii=False on the way out
    assert json.loads(raw) == {"type": "echo", "frame": frame}


async def test_echo_answers_a_malformed_frame_with_an_error_and_stays_open(served: Served) -> None:
    async with websockets.connect(f"{served.ws_url}/ws/echo", extra_headers=service_headers()) as ws:
        await ws.send("not json")
        error = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "ping"}))
        echoed = json.loads(await ws.recv())
    assert (error["type"], error["code"]) == ("error", "malformed_frame")
    assert echoed == {"type": "echo", "frame": {"type": "ping"}}
