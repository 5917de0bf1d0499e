"""The one place where errors become HTTP responses and websocket frames."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from hub.exceptions import HubError

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


async def hub_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    if exc.status_code >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.status_code, headers=exc.headers)


async def http_error_response(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown route, wrong method) in the same JSON shape."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code, headers=exc.headers
    )


def error_frame(exc: HubError, **context: Any) -> dict[str, Any]:
    """A websocket ``error`` frame; ``context`` (e.g. the ``client_msg_id`` it refers to) is added."""
    return {"type": "error", **exc.to_dict(), "status": exc.status_code, **context}


async def deny_websocket(websocket: WebSocket, exc: HubError) -> None:
    """Refuse a websocket handshake with the error's HTTP status (close code 4000+status if unsupported)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        denial = JSONResponse({"error": exc.to_dict()}, status_code=exc.status_code, headers=exc.headers)
        await websocket.send_denial_response(denial)
    else:
        await websocket.close(code=4000 + exc.status_code)
