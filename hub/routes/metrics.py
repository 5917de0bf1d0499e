"""Prometheus metrics: ``GET /metrics`` (text format), the middleware that feeds it, and the bot-call timer.

* ``kefu_hub_http_requests_total`` / ``kefu_hub_http_request_seconds``: HTTP requests by endpoint (the handler's
  name, never the raw path, so conversation ids do not become labels), method and status.
* ``kefu_hub_websocket_connections``: websockets open now; ``kefu_hub_websocket_frames_total``: frames in and out.
* ``kefu_hub_bot_reply_seconds`` / ``kefu_hub_bot_errors_total``: one customer message through Rasa's REST
  channel as the hub sees it (the rest of a reply's time is the hub's own).

The metrics live in prometheus_client's process-wide registry, so several apps in one process (tests) share them.
Reading them takes the service token (``Authorization: Bearer``, Prometheus's ``authorization`` scrape setting) or
a trainer's console session.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.exceptions import NotAuthenticated, RasaUnavailable
from hub.routes.agent import SESSION_KEY, current_agent
from hub.routes.service_auth import bearer_token, require_service
from hub.services.customers import BotChannel
from hub.services.rasa import BotReply

# From a cached static file (~1 ms) to a Rasa reply under load (seconds): fine steps where the 150 ms goal is.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip

HTTP_REQUESTS = Counter(
    "kefu_hub_http_requests_total", "HTTP requests answered by the hub", ["endpoint", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "kefu_hub_http_request_seconds", "Time to answer an HTTP request", ["endpoint"], buckets=LATENCY_BUCKETS
)
WEBSOCKETS_OPEN = Gauge("kefu_hub_websocket_connections", "Websocket connections open now", ["endpoint"])
WEBSOCKET_FRAMES = Counter(
    "kefu_hub_websocket_frames_total", "Websocket frames received and sent", ["endpoint", "direction"]
)
BOT_SECONDS = Histogram(
    "kefu_hub_bot_reply_seconds", "One customer message through Rasa's REST channel", buckets=LATENCY_BUCKETS
)
BOT_ERRORS = Counter("kefu_hub_bot_errors_total", "Customer messages Rasa did not answer")


def endpoint_label(scope: Scope) -> str:
    """The name of the handler the router chose (``customer_socket``, ``health`` …), or ``unmatched``."""
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return "unmatched"
    return str(getattr(endpoint, "__name__", type(endpoint).__name__))


class MetricsMiddleware:
    """Pure ASGI middleware: times HTTP requests and counts websocket connections and frames."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before starting a response

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            endpoint = endpoint_label(scope)  # the router has filled it in by now
            HTTP_REQUESTS.labels(endpoint, scope["method"], str(status)).inc()
            HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        opened: list[str] = []  # the endpoint label, once the handshake was accepted

        async def receive_counting() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                WEBSOCKET_FRAMES.labels(endpoint_label(scope), "in").inc()
            return message

        async def send_counting(message: Message) -> None:
            await send(message)
            if message["type"] == "websocket.send":
                WEBSOCKET_FRAMES.labels(endpoint_label(scope), "out").inc()
            elif message["type"] == "websocket.accept" and not opened:
                opened.append(endpoint_label(scope))
                WEBSOCKETS_OPEN.labels(opened[0]).inc()

        try:
            await self.app(scope, receive_counting, send_counting)
        finally:
            if opened:
                WEBSOCKETS_OPEN.labels(opened[0]).dec()


class TimedBotChannel:
    """A BotChannel that times every message it passes to the wrapped one (``kefu_hub_bot_reply_seconds``)."""

    def __init__(self, bot: BotChannel) -> None:
        self.bot = bot

    async def send_message(
        self, conversation_id: str, text: str, metadata: Mapping[str, Any] | None = None
    ) -> list[BotReply]:
        started = time.perf_counter()
        try:
            return await self.bot.send_message(conversation_id, text, metadata)
        except RasaUnavailable:
            BOT_ERRORS.inc()
            raise
        finally:
            BOT_SECONDS.observe(time.perf_counter() - started)


# Besides Prometheus (service token), trainers may read the metrics from the browser they are logged in with.
SCRAPER_ROLE = "trainer"


def require_scraper(request: Request) -> None:
    """The service token, or else a trainer's session (401 without either, 403 for an agent's session)."""
    if bearer_token(request) is None and request.session.get(SESSION_KEY) is not None:
        try:
            current_agent(request, role=SCRAPER_ROLE)
            return
        except NotAuthenticated:
            pass  # the account behind the session is gone: ask for the token instead
    require_service(request)


async def metrics(request: Request) -> Response:
    """Every metric of this process in Prometheus's text format."""
    require_scraper(request)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics)]
