"""``python -m benchmarks.recorder PORT``: stands in for the hub's ``POST /api/handoffs`` during a benchmark.

The action server posts its handoff context packets here. Each is recorded and answered "queued, nobody
ahead", so the conversation stays with the bot; ``GET /records/<conversation id>`` lists the recorded
packets' reasons and queues, oldest first, and ``GET /healthz`` says it is up. It runs as a process of its
own, on 127.0.0.1 only, so that the load generator never slows the answers down.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

_lock = threading.Lock()
_records: dict[str, list[dict[str, str]]] = defaultdict(list)


class Handler(BaseHTTPRequestHandler):
    """The two routes; anything else is a 404."""

    def do_POST(self) -> None:
        if self.path != "/api/handoffs":
            self._reply(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            packet = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            packet = {}
        packet = packet if isinstance(packet, dict) else {}
        queue = str(packet.get("queue") or "human")
        with _lock:
            _records[str(packet.get("conversation_id"))].append({"reason": str(packet.get("reason")), "queue": queue})
        self._reply(200, {"status": "queued", "queue": queue, "ahead": 0, "wait_minutes": 1})

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, {"status": "ok"})
        elif self.path.startswith("/records/"):
            with _lock:
                records = list(_records.get(unquote(self.path[len("/records/") :]), []))
            self._reply(200, records)
        else:
            self._reply(404, {"error": "not found"})

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return  # one line per request would only slow it down


def main(argv: list[str]) -> None:
    """Serves on ``127.0.0.1:<argv[0]>`` until terminated."""
    server = ThreadingHTTPServer(("127.0.0.1", int(argv[0])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
