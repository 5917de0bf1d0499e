"""The hub's ASGI app. Run it with ``uvicorn hub.app:create_app --factory`` (or ``python -m hub``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from hub.exceptions import HubError
from hub.routes import agent, api, echo, metrics, trainer, widget
from hub.routes.errors import http_error_response, hub_error_response
from hub.routes.widget import STATIC_DIR
from hub.services import Hub
from hub.services.trainer import Trainer
from hub.settings import Settings

log = logging.getLogger(__name__)

# An agent stays logged in for one long shift; after that the console asks for the password again.
SESSION_MAX_AGE_SECONDS = 12 * 60 * 60


def create_app(settings: Settings | None = None, hub: Hub | None = None, console: Trainer | None = None) -> Starlette:
    """Build the app; settings come from the environment unless given (tests give a hub with a fake clock)."""
    settings = settings or (hub.settings if hub else Settings.from_env())
    hub = hub or Hub.build(settings)
    console = console or Trainer.build(hub)  # the trainer console (loads nothing until a trainer uses it)
    if not isinstance(hub.customers.bot, metrics.TimedBotChannel):  # kefu_hub_bot_reply_seconds
        hub.customers.bot = metrics.TimedBotChannel(hub.customers.bot)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.start()
        console.start()
        hub.tasks.spawn(hub.sweeper.run_forever(), name="sweeper")
        log.info("hub ready: database %s, Rasa %s", settings.database_url.split("@")[-1], settings.rasa_url)
        try:
            yield
        finally:
            await console.close()
            await hub.close()

    app = Starlette(
        routes=[
            *widget.routes,
            *api.routes,
            *agent.routes,
            *trainer.routes,
            *echo.routes,
            *metrics.routes,
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[
            Middleware(metrics.MetricsMiddleware),  # outermost: times everything, counts websocket frames
            # The widget may be embedded in other sites: its API needs no cookies, so any origin may call it.
            Middleware(
                CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"], allow_headers=["content-type"]
            ),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie="kefu_agent",
                max_age=SESSION_MAX_AGE_SECONDS,
                same_site="lax",
            ),
        ],
        exception_handlers={HubError: hub_error_response, HTTPException: http_error_response},
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.trainer = console
    return app
