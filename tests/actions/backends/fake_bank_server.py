"""A fake core-banking REST API for the HTTP client tests: the stub behind the documented path scheme.

It runs for real (uvicorn on 127.0.0.1, a free port, in a thread) and can misbehave on demand: answer 5xx
N times, process a request and then answer 502 (a lost response), answer slowly, or answer nonsense.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actions.backends import wire
from actions.backends.exceptions import BankError, to_payload
from actions.backends.stub import StubBankBackend


@dataclass
class Faults:
    """How the fake server misbehaves; tests change it between calls."""

    fail_next: int = 0  # answer this many requests with `fail_status` without processing them
    fail_status: int = 503
    lose_next: int = 0  # process this many requests, then answer 502 as if the response were lost
    slow_next: int = 0  # delay this many requests by `delay_seconds`
    delay_seconds: float = 0.0
    garbage_next: int = 0  # answer this many with 400 and a body that is not an error payload
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, Idempotency-Key)


Handler = Callable[[Request], Awaitable[Any]]


def build_app(stub: StubBankBackend, faults: Faults) -> Starlette:
    """The fake API over `stub`."""

    def customer(request: Request) -> str:
        return str(request.path_params["c"])

    async def body(request: Request) -> dict[str, Any]:
        data = await request.json() if await request.body() else {}
        return dict(data)

    def key(request: Request) -> str:
        return request.headers.get("Idempotency-Key", "")

    async def get_customer(r: Request) -> Any:
        return await stub.get_customer(customer(r))

    async def send_otp(r: Request) -> Any:
        return await stub.send_otp(customer(r))

    async def verify_otp(r: Request) -> Any:
        return wire.encode_otp_result(await stub.verify_otp(customer(r), (await body(r))["code"]))

    async def identity_check(r: Request) -> Any:
        data = await body(r)
        checked_at = datetime.fromisoformat(data["checked_at"]) if data.get("checked_at") else None
        until = await stub.record_verification(customer(r), data["method"], data.get("verified_by"), key(r), checked_at)
        return {"verified_until": until}

    async def identity_lock(r: Request) -> Any:
        return {"locked": await stub.is_locked(customer(r))}

    async def face_check(r: Request) -> Any:
        return await stub.face_check(customer(r))

    async def credit_limit(r: Request) -> Any:
        return await stub.credit_limit(customer(r))

    async def quote(r: Request) -> Any:
        data = await body(r)
        return await stub.quote_loan(customer(r), data["amount_fen"], data["term"])

    async def loans(r: Request) -> Any:
        if r.method == "GET":
            return await stub.list_loans(customer(r), r.query_params.get("include_paid_off") == "true")
        data = await body(r)
        return await stub.apply_loan(customer(r), data["amount_fen"], data["term"], data["purpose"], key(r))

    async def schedule(r: Request) -> Any:
        return await stub.repayment_schedule(customer(r), r.path_params["l"])

    async def repayments(r: Request) -> Any:
        data = await body(r)
        method = stub.early_repay if data.get("early") else stub.repay
        return await method(customer(r), r.path_params["l"], key(r), data.get("amount_fen"))

    async def early_quote(r: Request) -> Any:
        on = r.query_params.get("on")
        return await stub.early_repayment_quote(customer(r), r.path_params["l"], date.fromisoformat(on) if on else None)

    async def balance(r: Request) -> Any:
        return {"balance_fen": await stub.balance(customer(r))}

    async def transactions(r: Request) -> Any:
        since = r.query_params.get("since")
        limit = int(r.query_params.get("limit", "20"))
        return await stub.transactions(customer(r), limit, date.fromisoformat(since) if since else None)

    async def cards(r: Request) -> Any:
        if r.method == "GET":
            return await stub.cards(customer(r))
        data = await body(r)
        return await stub.bind_card(customer(r), data["card_number"], data["reserved_phone"], key(r))

    async def unbind(r: Request) -> Any:
        await stub.unbind_card(customer(r), r.path_params["card"], key(r))
        return Response(status_code=204)

    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                result = await handler(request)
            except BankError as error:
                return JSONResponse(to_payload(error), status_code=error.status)
            return result if isinstance(result, Response) else JSONResponse(wire.encode(result))

        return run

    c, loan = "/v1/customers/{c}", "/v1/customers/{c}/loans/{l}"
    routes = [
        Route(c, endpoint(get_customer)),
        Route(f"{c}/otp", endpoint(send_otp), methods=["POST"]),
        Route(f"{c}/otp/verify", endpoint(verify_otp), methods=["POST"]),
        Route(f"{c}/identity-checks", endpoint(identity_check), methods=["POST"]),
        Route(f"{c}/identity-lock", endpoint(identity_lock)),
        Route(f"{c}/face-check", endpoint(face_check)),
        Route(f"{c}/credit-limit", endpoint(credit_limit)),
        Route(f"{c}/loan-quotes", endpoint(quote), methods=["POST"]),
        Route(f"{c}/loans", endpoint(loans), methods=["GET", "POST"]),
        Route(f"{loan}/schedule", endpoint(schedule)),
        Route(f"{loan}/repayments", endpoint(repayments), methods=["POST"]),
        Route(f"{loan}/early-repayment-quote", endpoint(early_quote)),
        Route(f"{c}/balance", endpoint(balance)),
        Route(f"{c}/transactions", endpoint(transactions)),
        Route(f"{c}/cards", endpoint(cards), methods=["GET", "POST"]),
        Route(f"{c}/cards/{{card}}", endpoint(unbind), methods=["DELETE"]),
    ]
    app = Starlette(routes=routes)

    @app.middleware("http")
    async def misbehave(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        faults.seen.append((request.method, request.url.path, request.headers.get("Idempotency-Key")))
        if faults.slow_next > 0:
            faults.slow_next -= 1
            await asyncio.sleep(faults.delay_seconds)
        if faults.fail_next > 0:
            faults.fail_next -= 1
            return JSONResponse({"error": {"code": "internal"}}, status_code=faults.fail_status)
        if faults.garbage_next > 0:
            faults.garbage_next -= 1
            return JSONResponse({"detail": "bad request"}, status_code=400)
        response = await call_next(request)
        if faults.lose_next > 0:
            faults.lose_next -= 1
            return Response(status_code=502)
        return response

    return app


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Run `app` on 127.0.0.1 at a free port in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # ws="none": Rasa pins an old websockets that uvicorn's auto-detection cannot import.
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", http="h11")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake bank server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
