"""``python -m hub [--host H] [--port P]``: serve the hub with uvicorn's wsproto websockets.

uvicorn's automatic websocket choice picks its websockets-13 implementation whenever the ``websockets``
package is importable; Rasa pins websockets 10.4, so the hub names wsproto explicitly.
"""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m hub", description="kefu hub (customer widget + agent console)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run("hub.app:create_app", factory=True, host=args.host, port=args.port, ws="wsproto")


if __name__ == "__main__":
    main()
