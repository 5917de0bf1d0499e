"""The action server's Prometheus metrics: action names from webhook bodies, KB timings, a served /metrics."""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from actions.metrics import action_name, observe_kb_query
from tests.support.servers import free_port, running


def webhook_request(body: bytes, encoding: str | None = None) -> Any:
    return SimpleNamespace(body=body, headers={"Content-Encoding": encoding} if encoding else {})


def test_action_name_reads_next_action_from_a_plain_body() -> None:
    body = json.dumps({"next_action": "action_answer_faq"}).encode()
    assert action_name(webhook_request(body)) == "action_answer_faq"


def test_action_name_reads_a_deflate_compressed_body() -> None:
    body = zlib.compress(json.dumps({"next_action": "action_handoff"}).encode())
    assert action_name(webhook_request(body, "deflate")) == "action_handoff"


@pytest.mark.parametrize("body", [b"", b"not json", b'{"next_action": 3}', b"[]"])
def test_action_name_of_a_malformed_body_is_unknown(body: bytes) -> None:
    assert action_name(webhook_request(body)) == "unknown"


def test_observe_kb_query_feeds_the_histogram_by_stage() -> None:
    before = REGISTRY.get_sample_value("kefu_kb_query_seconds_count", {"stage": "embed"}) or 0.0
    observe_kb_query("embed", 0.012)
    assert REGISTRY.get_sample_value("kefu_kb_query_seconds_count", {"stage": "embed"}) == before + 1


@pytest.mark.slow
def test_action_server_entry_point_serves_metrics_for_webhook_calls(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "actions.server", "--actions", "actions", "--port", str(port)]
    env = {"KEFU_VAR_DIR": str(tmp_path), "SANIC_HOST": "127.0.0.1"}
    with running(command, f"{url}/health", tmp_path / "actions.log", env):
        call = {"next_action": "no_such_action", "tracker": {"sender_id": "t1"}, "version": "3.6.21"}
        assert httpx.post(f"{url}/webhook", json=call).status_code == 404
        metrics = httpx.get(f"{url}/metrics").text
    assert 'kefu_actions_requests_total{action="no_such_action",status="404"} 1.0' in metrics
    assert 'kefu_actions_action_seconds_count{action="no_such_action"} 1.0' in metrics
