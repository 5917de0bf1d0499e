"""HttpBankBackend against a live local fake bank server (fake_bank_server.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from actions.backends import product
from actions.backends.base import LoanStatus, OtpLocked, OtpVerified, OtpWrong, RepaymentKind
from actions.backends.clock import FakeClock
from actions.backends.exceptions import (
    AmountAboveAvailable,
    BackendUnavailable,
    IdentityLocked,
    InvalidCard,
    NotVerified,
    UnknownCustomer,
    UnknownLoan,
)
from actions.backends.http_client import HttpBankBackend
from actions.backends.stub import StubBankBackend
from actions.backends.stub_seed import with_check_digit
from tests.actions.backends.fake_bank_server import Faults, build_app, serving

FAST_BACKOFF = 0.01  # seconds; the retry pauses are not what these tests measure


@pytest.fixture
async def stub(tmp_path: Path, clock: FakeClock) -> AsyncIterator[StubBankBackend]:
    """The stub the fake server serves (SQLite is enough: the client is under test), already seeded."""
    backend = StubBankBackend(f"sqlite:///{tmp_path / 'bank.db'}", clock)
    await backend.get_customer("cust-good")  # create and seed now, not inside a timed request
    yield backend
    await backend.aclose()


@pytest.fixture
def faults() -> Faults:
    """The fake server's misbehaviour switches."""
    return Faults()


@pytest.fixture
def server_url(stub: StubBankBackend, faults: Faults) -> Iterator[str]:
    """The fake bank API, live on 127.0.0.1."""
    with serving(build_app(stub, faults)) as url:
        yield url


@pytest.fixture
async def client(server_url: str) -> AsyncIterator[HttpBankBackend]:
    """The client under test: 2 retries, fast backoff, 2 s timeout."""
    backend = HttpBankBackend(server_url, timeout_seconds=2, retries=2, backoff_seconds=FAST_BACKOFF)
    yield backend
    await backend.aclose()


async def _verify(client: HttpBankBackend, stub: StubBankBackend, customer_id: str = "cust-good") -> None:
    await client.send_otp(customer_id)
    code = stub.debug_last_otp(customer_id)
    assert code is not None
    assert isinstance(await client.verify_otp(customer_id, code), OtpVerified)


async def test_http_get_customer_round_trips_chinese_name(client: HttpBankBackend, stub: StubBankBackend) -> None:
    customer = await client.get_customer("cust-deaf")
    assert customer == await stub.get_customer("cust-deaf")
    assert customer.name == "陈静" and customer.prefers_sign_language


async def test_http_reads_match_the_stub(client: HttpBankBackend, stub: StubBankBackend) -> None:
    await _verify(client, stub)
    assert await client.credit_limit("cust-good") == await stub.credit_limit("cust-good")
    assert await client.list_loans("cust-good") == await stub.list_loans("cust-good")
    assert await client.repayment_schedule("cust-good", "loan-good-1") == await stub.repayment_schedule(
        "cust-good", "loan-good-1"
    )
    assert await client.balance("cust-good") == 1_288_800
    assert await client.transactions("cust-good", limit=3, since=date(2025, 1, 1)) == await stub.transactions(
        "cust-good", limit=3, since=date(2025, 1, 1)
    )
    assert await client.cards("cust-good") == await stub.cards("cust-good")
    assert await client.face_check("cust-good") == await stub.face_check("cust-good")
    assert await client.early_repayment_quote("cust-good", "loan-good-1", date(2025, 3, 20)) == (
        await stub.early_repayment_quote("cust-good", "loan-good-1", date(2025, 3, 20))
    )


async def test_http_loan_and_card_writes_work_end_to_end(client: HttpBankBackend, stub: StubBankBackend) -> None:
    await _verify(client, stub)
    quote = await client.quote_loan("cust-good", 1_000_000, 10)
    assert len(quote.instalments) == 10 and quote.total_repayment_fen > 1_000_000
    loan = await client.apply_loan("cust-good", 1_000_000, 10, "装修", "apply-1")
    assert loan.status is LoanStatus.ACTIVE and loan.purpose == "装修"
    assert len(await client.list_loans("cust-good")) == 2
    repayment = await client.repay("cust-good", loan.id, "repay-1")
    assert repayment.kind is RepaymentKind.INSTALMENT
    full = await client.early_repay("cust-good", loan.id, "early-1")
    assert full.kind is RepaymentKind.EARLY_FULL and full.loan_status is LoanStatus.PAID_OFF
    card = await client.bind_card("cust-good", with_check_digit("622848123412341"), "13800000001", "bind-1")
    assert card in await client.cards("cust-good")
    await client.unbind_card("cust-good", card.id, "unbind-1")
    assert card not in await client.cards("cust-good")


async def test_http_error_responses_map_to_exceptions_with_details(
    client: HttpBankBackend, stub: StubBankBackend, faults: Faults
) -> None:
    with pytest.raises(NotVerified):
        await client.balance("cust-good")
    assert len(faults.seen) == 1  # a 4xx is an answer, never retried
    with pytest.raises(UnknownCustomer):
        await client.get_customer("cust-nobody")
    await _verify(client, stub)
    with pytest.raises(AmountAboveAvailable) as raised:
        await client.quote_loan("cust-good", 4_200_000, 10)
    assert raised.value.available_fen == 4_100_000
    with pytest.raises(UnknownLoan):
        await client.repayment_schedule("cust-good", "loan-nope")
    with pytest.raises(InvalidCard) as invalid:
        await client.bind_card("cust-good", with_check_digit("411111111111111"), "13800000001", "bind-1")
    assert invalid.value.reason == "credit_card"


async def test_http_otp_wrong_and_lock_results_round_trip(
    client: HttpBankBackend, stub: StubBankBackend, clock: FakeClock
) -> None:
    await client.send_otp("cust-good")
    code = stub.debug_last_otp("cust-good")
    assert code is not None
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert await client.verify_otp("cust-good", wrong) == OtpWrong(2)
    await client.verify_otp("cust-good", wrong)
    locked = await client.verify_otp("cust-good", wrong)
    assert isinstance(locked, OtpLocked) and locked.until > clock.now()
    assert await client.is_locked("cust-good")
    with pytest.raises(IdentityLocked) as raised:
        await client.send_otp("cust-good")
    assert raised.value.until == locked.until


async def test_http_record_verification_verifies_and_is_audited_once(
    client: HttpBankBackend, stub: StubBankBackend, clock: FakeClock, faults: Faults
) -> None:
    checked_at = clock.now() - timedelta(minutes=5)

    until = await client.record_verification("cust-deaf", "video", "agent-li", "check-1", checked_at)
    again = await client.record_verification("cust-deaf", "video", "agent-li", "check-1", checked_at)

    assert until == again == checked_at + product.VERIFICATION_TTL
    assert (await client.credit_limit("cust-deaf")) == await stub.credit_limit("cust-deaf")
    (record,) = await stub.debug_verifications("cust-deaf")
    assert (record.method, record.verified_by, record.checked_at) == ("video", "agent-li", checked_at)
    assert faults.seen[0] == ("POST", "/v1/customers/cust-deaf/identity-checks", "check-1")


async def test_http_record_verification_without_who_and_when_counts_from_now(
    client: HttpBankBackend, stub: StubBankBackend, clock: FakeClock
) -> None:
    assert await client.record_verification("cust-deaf", "video", None, "check-1") == (
        clock.now() + product.VERIFICATION_TTL
    )
    assert (await stub.debug_verifications("cust-deaf"))[0].verified_by is None


async def test_http_record_verification_refusals_map_to_exceptions(
    client: HttpBankBackend, stub: StubBankBackend, clock: FakeClock
) -> None:
    with pytest.raises(NotVerified):
        await client.record_verification("cust-deaf", "video", None, "check-1", clock.now() - timedelta(hours=1))
    with pytest.raises(UnknownCustomer):
        await client.record_verification("cust-nobody", "video", None, "check-2")
    await client.send_otp("cust-deaf")
    code = stub.debug_last_otp("cust-deaf")
    assert code is not None
    for _ in range(product.OTP_MAX_WRONG_ATTEMPTS):
        await client.verify_otp("cust-deaf", f"{(int(code) + 1) % 1_000_000:06d}")
    with pytest.raises(IdentityLocked):
        await client.record_verification("cust-deaf", "video", None, "check-3")
    assert await stub.debug_verifications("cust-deaf") == []


async def test_http_record_verification_lost_response_is_retried_and_recorded_once(
    client: HttpBankBackend, stub: StubBankBackend, faults: Faults
) -> None:
    faults.lose_next = 1  # the bank records the check, then the answer is lost

    until = await client.record_verification("cust-deaf", "video", "agent-li", "check-1")

    assert [record.verified_until for record in await stub.debug_verifications("cust-deaf")] == [until]
    assert [key for _, _, key in faults.seen] == ["check-1", "check-1"]


async def test_http_server_errors_twice_then_success_is_retried(
    client: HttpBankBackend, stub: StubBankBackend, faults: Faults
) -> None:
    await _verify(client, stub)
    faults.seen.clear()
    faults.fail_next = 2
    loan = await client.apply_loan("cust-good", 500_000, 5, "消费", "apply-1")
    assert loan.principal_fen == 500_000
    assert [key for _, _, key in faults.seen] == ["apply-1"] * 3  # the same key on every attempt


async def test_http_server_errors_past_retries_raise_backend_unavailable(
    client: HttpBankBackend, faults: Faults
) -> None:
    faults.fail_next = 3
    faults.fail_status = 502
    with pytest.raises(BackendUnavailable, match="HTTP 502 after 3 attempts"):
        await client.get_customer("cust-good")
    assert len(faults.seen) == 3


async def test_http_lost_response_retry_returns_the_first_loan_not_a_second(
    client: HttpBankBackend, stub: StubBankBackend, faults: Faults
) -> None:
    await _verify(client, stub)
    faults.lose_next = 1  # the bank makes the loan, then the answer is lost
    loan = await client.apply_loan("cust-good", 500_000, 5, "消费", "apply-1")
    loans = await stub.list_loans("cust-good")
    assert [item.id for item in loans].count(loan.id) == 1 and len(loans) == 2


async def test_http_slow_answer_times_out_then_retry_succeeds(server_url: str, faults: Faults) -> None:
    client = HttpBankBackend(server_url, timeout_seconds=0.3, retries=1, backoff_seconds=FAST_BACKOFF)
    faults.slow_next, faults.delay_seconds = 1, 1.0
    try:
        assert (await client.get_customer("cust-good")).id == "cust-good"
    finally:
        await client.aclose()
    assert len(faults.seen) == 2


async def test_http_always_slow_raises_backend_unavailable_after_timeouts(server_url: str, faults: Faults) -> None:
    client = HttpBankBackend(server_url, timeout_seconds=0.2, retries=1, backoff_seconds=FAST_BACKOFF)
    faults.slow_next, faults.delay_seconds = 5, 1.0
    started = time.monotonic()
    try:
        with pytest.raises(BackendUnavailable, match="timeout"):
            await client.get_customer("cust-good")
    finally:
        await client.aclose()
    assert time.monotonic() - started < 1.5  # two 0.2 s attempts, not the server's full second


async def test_http_nothing_listening_raises_backend_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    client = HttpBankBackend(f"http://127.0.0.1:{port}", timeout_seconds=1, retries=2, backoff_seconds=FAST_BACKOFF)
    try:
        with pytest.raises(BackendUnavailable, match=r"transport error .* after 3 attempts"):
            await client.get_customer("cust-good")
    finally:
        await client.aclose()


async def test_http_unknown_error_body_raises_backend_unavailable(client: HttpBankBackend, faults: Faults) -> None:
    faults.garbage_next = 1
    with pytest.raises(BackendUnavailable, match="unknown error body"):
        await client.get_customer("cust-good")
    assert len(faults.seen) == 1
