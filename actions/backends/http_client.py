"""`HttpBankBackend`: the bank backend over a core-banking REST API.

Path scheme (JSON bodies as in `wire`; all money integer fen; ``{c}`` is the customer id, ``{l}`` a loan id):

| method | path | body / query | returns |
| --- | --- | --- | --- |
| GET | /v1/customers/{c} | | Customer |
| POST | /v1/customers/{c}/otp | | OtpSent |
| POST | /v1/customers/{c}/otp/verify | ``{"code"}`` | tagged OtpResult |
| POST | /v1/customers/{c}/identity-checks | ``{"method", "verified_by", "checked_at"}`` | ``{"verified_until"}`` |
| GET | /v1/customers/{c}/identity-lock | | ``{"locked": bool}`` |
| GET | /v1/customers/{c}/face-check | | FaceCheck |
| GET | /v1/customers/{c}/credit-limit | | CreditLimit |
| POST | /v1/customers/{c}/loan-quotes | ``{"amount_fen", "term"}`` | LoanQuote |
| POST | /v1/customers/{c}/loans | ``{"amount_fen", "term", "purpose"}`` | Loan |
| GET | /v1/customers/{c}/loans | ``?include_paid_off=true`` | [Loan] |
| GET | /v1/customers/{c}/loans/{l}/schedule | | [Instalment] |
| POST | /v1/customers/{c}/loans/{l}/repayments | ``{"amount_fen", "early"}`` | Repayment |
| GET | /v1/customers/{c}/loans/{l}/early-repayment-quote | ``?on=YYYY-MM-DD`` | EarlyRepaymentQuote |
| GET | /v1/customers/{c}/balance | | ``{"balance_fen"}`` |
| GET | /v1/customers/{c}/transactions | ``?limit=&since=YYYY-MM-DD`` | [Transaction] |
| GET | /v1/customers/{c}/cards | | [Card] |
| POST | /v1/customers/{c}/cards | ``{"card_number", "reserved_phone"}`` | Card |
| DELETE | /v1/customers/{c}/cards/{card} | | 204 |

Every POST and DELETE carries an ``Idempotency-Key`` header: the caller's key for loans, repayments, cards
and identity checks, a fresh one per call for SMS codes. So every call is safe to retry, and the client
retries each one on connect errors, timeouts, 429 and 5xx, with exponential backoff, up to ``retries`` extra
attempts; then it raises BackendUnavailable. A 4xx error body ``{"error": {"code", "details"}}`` becomes the
exception with that code (`exceptions.from_payload`); anything else unexpected is BackendUnavailable.
``checked_at`` and ``verified_until`` are ISO 8601 with their offset; ``verified_by`` and ``checked_at`` may be
null (checked now).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from actions.backends import wire
from actions.backends.base import (
    BankBackend,
    Card,
    CreditLimit,
    Customer,
    EarlyRepaymentQuote,
    FaceCheck,
    Fen,
    Instalment,
    Loan,
    LoanQuote,
    OtpResult,
    OtpSent,
    Repayment,
    Transaction,
    VerificationMethod,
)
from actions.backends.exceptions import BackendUnavailable, from_payload

LOG = logging.getLogger("kefu.bank.http")
BACKOFF_SECONDS = 0.2  # first retry pause; doubles each time: 0.2 s, 0.4 s, ... keeps a chat reply under ~10 s
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _segment(value: str) -> str:
    return quote(value, safe="")


class HttpBankBackend(BankBackend):
    """The bank backend over the core-banking REST API.

    Args:
        base_url: The API's root, e.g. ``https://core.bank.example/api``.
        timeout_seconds: Timeout of one attempt (connect, read, write and pool each).
        retries: Extra attempts after a retryable failure.
        backoff_seconds: Pause before the first retry; doubled for each further one.
        headers: Extra headers on every request (e.g. an API token read from the environment).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float = 3.0,
        retries: int = 2,
        backoff_seconds: float = BACKOFF_SECONDS,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._retries = retries
        self._backoff = backoff_seconds
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_seconds),
            headers={"Accept": "application/json", **(headers or {})},
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one logical request, retrying; return the decoded JSON (None for 204)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        problem = "no attempt made"
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
            try:
                response = await self._client.request(method, path, json=body, params=params, headers=headers)
            except httpx.TimeoutException as error:
                problem = f"timeout ({type(error).__name__})"
            except httpx.TransportError as error:
                problem = f"transport error ({type(error).__name__})"
            else:
                if response.status_code in RETRY_STATUSES:
                    problem = f"HTTP {response.status_code}"
                else:
                    return self._result(response)
            LOG.warning("bank API %s %s attempt %d failed: %s", method, path, attempt + 1, problem)
        raise BackendUnavailable(f"{method} {path}: {problem} after {self._retries + 1} attempts")

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        if response.status_code == 204:
            return None
        try:
            payload = response.json()
        except ValueError:
            raise BackendUnavailable(f"HTTP {response.status_code} with a body that is not JSON") from None
        if response.is_success:
            return payload
        error = from_payload(payload)
        if error is None:
            raise BackendUnavailable(f"HTTP {response.status_code} with an unknown error body")
        raise error

    async def _get(self, kind: Any, path: str, params: dict[str, str] | None = None) -> Any:
        return self._decode(kind, await self._call("GET", path, params=params))

    async def _post(self, kind: Any, path: str, body: dict[str, Any], key: str | None = None) -> Any:
        data = await self._call("POST", path, body=body, idempotency_key=key or uuid.uuid4().hex)
        return self._decode(kind, data)

    @staticmethod
    def _decode(kind: Any, data: Any) -> Any:
        try:
            return wire.decode(kind, data)
        except (KeyError, TypeError, ValueError) as error:
            raise BackendUnavailable(f"malformed response: {error}") from None

    @staticmethod
    def _customer(customer_id: str) -> str:
        return f"/v1/customers/{_segment(customer_id)}"

    def _loan(self, customer_id: str, loan_id: str) -> str:
        return f"{self._customer(customer_id)}/loans/{_segment(loan_id)}"

    # -- customers and identity -----------------------------------------------------------------------------

    async def get_customer(self, customer_id: str) -> Customer:
        result: Customer = await self._get(Customer, self._customer(customer_id))
        return result

    async def send_otp(self, customer_id: str) -> OtpSent:
        result: OtpSent = await self._post(OtpSent, f"{self._customer(customer_id)}/otp", {})
        return result

    async def verify_otp(self, customer_id: str, code: str) -> OtpResult:
        path = f"{self._customer(customer_id)}/otp/verify"
        data = await self._call("POST", path, body={"code": code}, idempotency_key=uuid.uuid4().hex)
        try:
            return wire.decode_otp_result(data)
        except (KeyError, TypeError, ValueError) as error:
            raise BackendUnavailable(f"malformed response: {error}") from None

    async def record_verification(
        self,
        customer_id: str,
        method: VerificationMethod,
        verified_by: str | None,
        idempotency_key: str,
        checked_at: datetime | None = None,
    ) -> datetime:
        body = {
            "method": method,
            "verified_by": verified_by,
            "checked_at": checked_at.isoformat() if checked_at else None,
        }
        path = f"{self._customer(customer_id)}/identity-checks"
        data = await self._call("POST", path, body=body, idempotency_key=idempotency_key)
        if not isinstance(data, dict):
            raise BackendUnavailable("malformed response: expected {'verified_until': datetime}")
        until: datetime = self._decode(datetime, data.get("verified_until"))
        return until

    async def is_locked(self, customer_id: str) -> bool:
        data = await self._call("GET", f"{self._customer(customer_id)}/identity-lock")
        if not isinstance(data, dict) or not isinstance(data.get("locked"), bool):
            raise BackendUnavailable("malformed response: expected {'locked': bool}")
        return bool(data["locked"])

    async def face_check(self, customer_id: str) -> FaceCheck:
        result: FaceCheck = await self._get(FaceCheck, f"{self._customer(customer_id)}/face-check")
        return result

    # -- credit and loans -----------------------------------------------------------------------------------

    async def credit_limit(self, customer_id: str) -> CreditLimit:
        result: CreditLimit = await self._get(CreditLimit, f"{self._customer(customer_id)}/credit-limit")
        return result

    async def quote_loan(self, customer_id: str, amount_fen: Fen, term: int) -> LoanQuote:
        body = {"amount_fen": amount_fen, "term": term}
        result: LoanQuote = await self._post(LoanQuote, f"{self._customer(customer_id)}/loan-quotes", body)
        return result

    async def apply_loan(
        self, customer_id: str, amount_fen: Fen, term: int, purpose: str, idempotency_key: str
    ) -> Loan:
        body = {"amount_fen": amount_fen, "term": term, "purpose": purpose}
        result: Loan = await self._post(Loan, f"{self._customer(customer_id)}/loans", body, idempotency_key)
        return result

    async def list_loans(self, customer_id: str, include_paid_off: bool = False) -> list[Loan]:
        params = {"include_paid_off": "true"} if include_paid_off else None
        result: list[Loan] = await self._get(list[Loan], f"{self._customer(customer_id)}/loans", params)
        return result

    async def repayment_schedule(self, customer_id: str, loan_id: str) -> list[Instalment]:
        result: list[Instalment] = await self._get(list[Instalment], f"{self._loan(customer_id, loan_id)}/schedule")
        return result

    async def repay(
        self, customer_id: str, loan_id: str, idempotency_key: str, amount_fen: Fen | None = None
    ) -> Repayment:
        body = {"amount_fen": amount_fen, "early": False}
        path = f"{self._loan(customer_id, loan_id)}/repayments"
        result: Repayment = await self._post(Repayment, path, body, idempotency_key)
        return result

    async def early_repayment_quote(
        self, customer_id: str, loan_id: str, on_date: date | None = None
    ) -> EarlyRepaymentQuote:
        params = {"on": on_date.isoformat()} if on_date else None
        path = f"{self._loan(customer_id, loan_id)}/early-repayment-quote"
        result: EarlyRepaymentQuote = await self._get(EarlyRepaymentQuote, path, params)
        return result

    async def early_repay(
        self, customer_id: str, loan_id: str, idempotency_key: str, amount_fen: Fen | None = None
    ) -> Repayment:
        body = {"amount_fen": amount_fen, "early": True}
        path = f"{self._loan(customer_id, loan_id)}/repayments"
        result: Repayment = await self._post(Repayment, path, body, idempotency_key)
        return result

    # -- account and cards ----------------------------------------------------------------------------------

    async def balance(self, customer_id: str) -> Fen:
        data = await self._call("GET", f"{self._customer(customer_id)}/balance")
        if not isinstance(data, dict):
            raise BackendUnavailable("malformed response: expected {'balance_fen': int}")
        balance: Fen = self._decode(int, data.get("balance_fen"))
        return balance

    async def transactions(self, customer_id: str, limit: int = 20, since: date | None = None) -> list[Transaction]:
        params = {"limit": str(limit)}
        if since is not None:
            params["since"] = since.isoformat()
        path = f"{self._customer(customer_id)}/transactions"
        result: list[Transaction] = await self._get(list[Transaction], path, params)
        return result

    async def cards(self, customer_id: str) -> list[Card]:
        result: list[Card] = await self._get(list[Card], f"{self._customer(customer_id)}/cards")
        return result

    async def bind_card(self, customer_id: str, card_number: str, reserved_phone: str, idempotency_key: str) -> Card:
        body = {"card_number": card_number, "reserved_phone": reserved_phone}
        result: Card = await self._post(Card, f"{self._customer(customer_id)}/cards", body, idempotency_key)
        return result

    async def unbind_card(self, customer_id: str, card_id: str, idempotency_key: str) -> None:
        path = f"{self._customer(customer_id)}/cards/{_segment(card_id)}"
        await self._call("DELETE", path, idempotency_key=idempotency_key)

    async def aclose(self) -> None:
        await self._client.aclose()
