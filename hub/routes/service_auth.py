"""The shared service token (``KEFU_HUB_SERVICE_TOKEN``) of the endpoints only our own processes call.

* ``POST /api/handoffs``, ``POST /api/unanswered``: the action server, ``Authorization: Bearer <token>``;
* ``GET /metrics``: Prometheus (bearer token), or a trainer logged in to the console (``routes/metrics.py``);
* ``/ws/echo``: the load benchmark, by header or, where a client cannot set one, ``?token=<token>``.

Tokens are compared in constant time (:func:`hmac.compare_digest`). A missing token and a wrong one are both
401, with different codes so an operator can tell a forgotten setting from a mismatched one.
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection

from hub.exceptions import ServiceTokenInvalid, ServiceTokenMissing
from hub.services import Hub

BEARER_SCHEME = "bearer"
TOKEN_QUERY_PARAM = "token"


def bearer_token(connection: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None without one (any other scheme counts as none)."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != BEARER_SCHEME or not token.strip():
        return None
    return token.strip()


def tokens_match(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing does not reveal how much of a guess was right."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _expected(connection: HTTPConnection) -> str:
    hub: Hub = connection.app.state.hub
    return hub.settings.service_token


def require_service(connection: HTTPConnection, *, allow_query: bool = False) -> None:
    """Raise ServiceTokenMissing / ServiceTokenInvalid unless the caller presents the service token.

    ``allow_query`` also accepts ``?token=`` (websockets from browsers cannot set headers); the header wins.
    """
    given = bearer_token(connection)
    if given is None and allow_query:
        given = connection.query_params.get(TOKEN_QUERY_PARAM) or None
    if given is None:
        raise ServiceTokenMissing()
    if not tokens_match(given, _expected(connection)):
        raise ServiceTokenInvalid()
