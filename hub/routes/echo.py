"""``/ws/echo``: a websocket that sends every JSON frame straight back, touching no service or database.

It is the floor under the customer chat's latency: the same uvicorn, wsproto, Starlette and JSON path as
``/ws/conversations/{id}``, with no storage and no bot. ``make bench`` compares the two. A frame that is not a
JSON object with a ``type`` gets the usual ``error`` frame.
"""

from __future__ import annotations

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from hub.exceptions import ConnectionStateError, HubError
from hub.routes.connection import Connection, parse_frame
from hub.routes.errors import error_frame


async def echo_socket(websocket: WebSocket) -> None:
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
