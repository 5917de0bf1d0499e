"""Prometheus metrics of the action server, attached through rasa-sdk's ``attach_sanic_app_extensions`` hook.

* ``GET /metrics``: every metric of the process in Prometheus's text format;
* ``kefu_actions_requests_total{action,status}`` and ``kefu_actions_action_seconds{action}``: every call of
  ``/webhook`` (one action run, as rasa-sdk executes it);
* ``kefu_kb_query_seconds{stage}``: the knowledge base's query embedding (``embed``) and FAISS search
  (``search``) for each question, through :func:`knowledge_base.service.set_query_timer`.

``python -m actions.server`` registers :class:`MetricsPlugin`; the metrics are defined here, in a module rasa-sdk
imports once, so a server started as ``__main__`` does not register them twice.
"""

from __future__ import annotations

import json
import time
import zlib

import pluggy
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, raw

from knowledge_base.service import set_query_timer

hookimpl = pluggy.HookimplMarker("rasa_sdk")

# Actions take from well under a millisecond (slot checks) to a backend round trip or a KB query (10–100 ms).
ACTION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
# A query embedding takes ~10–40 ms on one CPU thread; a flat FAISS search over ~1,500 vectors well under 1 ms.
KB_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0)

ACTION_REQUESTS = Counter("kefu_actions_requests_total", "Action runs requested by Rasa", ["action", "status"])
ACTION_SECONDS = Histogram(
    "kefu_actions_action_seconds", "Time to run one action and answer Rasa", ["action"], buckets=ACTION_BUCKETS
)
KB_SECONDS = Histogram(
    "kefu_kb_query_seconds", "Knowledge-base query time by stage (embed, search)", ["stage"], buckets=KB_BUCKETS
)


def action_name(request: Request) -> str:
    """The ``next_action`` of a ``/webhook`` call (its body may be deflate-compressed), else ``unknown``."""
    try:
        body = request.body
        if request.headers.get("Content-Encoding") == "deflate":
            body = zlib.decompress(body)
        name = json.loads(body).get("next_action")
    except (ValueError, AttributeError, zlib.error):
        return "unknown"
    return name if isinstance(name, str) and name else "unknown"


def observe_kb_query(stage: str, seconds: float) -> None:
    """The knowledge base's timing hook: one observation of ``kefu_kb_query_seconds``."""
    KB_SECONDS.labels(stage).observe(seconds)


async def _start_timer(request: Request) -> None:
    request.ctx.kefu_started = time.perf_counter()


async def _record(request: Request, response: HTTPResponse) -> None:
    started = getattr(request.ctx, "kefu_started", None)
    if request.path != "/webhook" or started is None:
        return
    name = action_name(request)
    ACTION_REQUESTS.labels(name, str(response.status)).inc()
    ACTION_SECONDS.labels(name).observe(time.perf_counter() - started)


async def metrics(request: Request) -> HTTPResponse:
    """Every metric of this process in Prometheus's text format."""
    return raw(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def attach_metrics(app: Sanic) -> None:
    """Adds ``GET /metrics`` and the timing middleware to the action server's Sanic app."""
    app.add_route(metrics, "/metrics", methods=["GET"], name="kefu_metrics")
    app.register_middleware(_start_timer, "request")
    app.register_middleware(_record, "response")
    set_query_timer(observe_kb_query)


class MetricsPlugin:
    """The rasa-sdk plugin: rasa-sdk calls it with its app just before serving."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        attach_metrics(app)
