"""``/ws/echo``: a websocket that sends every JSON frame straight back, touching no service or database.

It is the floor under the customer chat's latency: the same uvicorn, wsproto, Starlette and JSON path as
``/ws/conversations/{id}``, with no storage and no bot. ``make bench`` compares the two. A frame that is not a
JSON object with a ``type`` gets the usual ``error`` frame. The handshake needs the service token
(``Authorization: Bearer`` or ``?token=``); without it the hub refuses with 401 before accepting.
"""

from __future__ import annotations

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from hub.exceptions import ConnectionStateError, HubError
from hub.routes.connection import Connection, parse_frame
from hub.routes.errors import deny_websocket, error_frame
from hub.routes.service_auth import require_service


async def echo_socket(websocket: WebSocket) -> None:
    try:
        require_service(websocket, allow_query=True)
    except HubError as exc:
        await deny_websocket(websocket, exc)
        return
    connection = Connection(websocket)
    await connection.accept()
    try:
        while True:
            text = await connection.receive()
            try:
                await connection.send({"type": "echo", "frame": parse_frame(text)})
            except ConnectionStateError:
                raise
            except HubError as exc:
                await connection.send(error_frame(exc))
    except ConnectionStateError:
        pass  # the client left
    finally:
        await connection.close()


routes = [WebSocketRoute("/ws/echo", echo_socket)]
