"""SMS codes, the lock, checks by a trusted person (video) and the face check in the stub, with the injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from actions.backends import product
from actions.backends.base import OtpExpired, OtpLocked, OtpVerified, OtpWrong
from actions.backends.clock import FakeClock
from actions.backends.exceptions import IdempotencyConflict, IdentityLocked, NotVerified, UnknownCustomer
from actions.backends.stub import StubBankBackend


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_verify_otp_right_code_verifies_for_30_minutes(bank: StubBankBackend, clock: FakeClock) -> None:
    sent = await bank.send_otp("cust-good")
    assert sent.phone_masked == "138****0001" and sent.expires_at == clock.now() + timedelta(minutes=5)
    code = bank.debug_last_otp("cust-good")
    assert code is not None and len(code) == 6 and code.isdigit()
    result = await bank.verify_otp("cust-good", code)
    assert result == OtpVerified(clock.now() + product.VERIFICATION_TTL)
    assert (await bank.get_customer("cust-good")).verified
    assert await bank.balance("cust-good") == 1_288_800
    clock.advance(product.VERIFICATION_TTL)
    assert not (await bank.get_customer("cust-good")).verified


async def test_verify_otp_code_is_single_use(bank: StubBankBackend) -> None:
    await bank.send_otp("cust-good")
    code = bank.debug_last_otp("cust-good")
    assert code is not None
    assert isinstance(await bank.verify_otp("cust-good", code), OtpVerified)
    assert isinstance(await bank.verify_otp("cust-good", code), OtpExpired)


async def test_verify_otp_after_5_minutes_is_expired_and_not_counted(bank: StubBankBackend, clock: FakeClock) -> None:
    await bank.send_otp("cust-good")
    code = bank.debug_last_otp("cust-good")
    assert code is not None
    clock.advance(timedelta(minutes=5))
    assert isinstance(await bank.verify_otp("cust-good", code), OtpExpired)
    await bank.send_otp("cust-good")
    fresh = bank.debug_last_otp("cust-good")
    assert fresh is not None
    assert await bank.verify_otp("cust-good", _wrong(fresh)) == OtpWrong(attempts_left=2)


async def test_verify_otp_third_wrong_code_locks_for_30_minutes(bank: StubBankBackend, clock: FakeClock) -> None:
    await bank.send_otp("cust-good")
    code = bank.debug_last_otp("cust-good")
    assert code is not None
    assert await bank.verify_otp("cust-good", _wrong(code)) == OtpWrong(attempts_left=2)
    assert await bank.verify_otp("cust-good", _wrong(code)) == OtpWrong(attempts_left=1)
    until = clock.now() + timedelta(minutes=30)
    assert await bank.verify_otp("cust-good", _wrong(code)) == OtpLocked(until)
    assert await bank.is_locked("cust-good")
    assert await bank.verify_otp("cust-good", code) == OtpLocked(until)  # even the right code
    with pytest.raises(IdentityLocked) as raised:
        await bank.send_otp("cust-good")
    assert raised.value.until == until
    clock.advance(timedelta(minutes=30))
    assert not await bank.is_locked("cust-good")
    await bank.send_otp("cust-good")
    fresh = bank.debug_last_otp("cust-good")
    assert fresh is not None
    assert isinstance(await bank.verify_otp("cust-good", fresh), OtpVerified)


async def test_verify_otp_new_code_does_not_reset_wrong_attempts(bank: StubBankBackend) -> None:
    await bank.send_otp("cust-good")
    first = bank.debug_last_otp("cust-good")
    assert first is not None
    await bank.verify_otp("cust-good", _wrong(first))
    await bank.send_otp("cust-good")
    second = bank.debug_last_otp("cust-good")
    assert second is not None
    assert await bank.verify_otp("cust-good", _wrong(second)) == OtpWrong(attempts_left=1)
    assert isinstance(await bank.verify_otp("cust-good", second), OtpVerified)


async def test_verify_otp_lock_ends_verification_in_progress(bank: StubBankBackend, clock: FakeClock) -> None:
    await bank.debug_mark_verified("cust-good")
    await bank.send_otp("cust-good")
    code = bank.debug_last_otp("cust-good")
    assert code is not None
    for _ in range(product.OTP_MAX_WRONG_ATTEMPTS):
        await bank.verify_otp("cust-good", _wrong(code))
    assert not (await bank.get_customer("cust-good")).verified


async def test_verify_otp_locks_are_per_customer(bank: StubBankBackend) -> None:
    await bank.send_otp("cust-good")
    code = bank.debug_last_otp("cust-good")
    assert code is not None
    for _ in range(3):
        await bank.verify_otp("cust-good", _wrong(code))
    assert await bank.is_locked("cust-good")
    assert not await bank.is_locked("cust-deaf")


async def test_face_check_reflects_the_customer_state(bank: StubBankBackend, clock: FakeClock) -> None:
    assert (await bank.face_check("cust-good")).passed
    new = await bank.face_check("cust-new")
    assert not new.passed and new.checked_at is None
    await bank.debug_set_face_check("cust-new", passed=True)
    assert (await bank.face_check("cust-new")).checked_at == clock.now()


# -- checks by a trusted person (record_verification) --------------------------------------------------------


async def _lock(bank: StubBankBackend, customer: str = "cust-deaf") -> None:
    await bank.send_otp(customer)
    code = bank.debug_last_otp(customer)
    assert code is not None
    for _ in range(product.OTP_MAX_WRONG_ATTEMPTS):
        await bank.verify_otp(customer, _wrong(code))


async def test_record_verification_video_verifies_for_30_minutes_like_sms(
    bank: StubBankBackend, clock: FakeClock
) -> None:
    until = await bank.record_verification("cust-deaf", "video", "agent-li", "check-1")

    assert until == clock.now() + product.VERIFICATION_TTL
    assert (await bank.get_customer("cust-deaf")).verified
    assert (await bank.credit_limit("cust-deaf")).total_fen == 10_000_000
    clock.advance(product.VERIFICATION_TTL)
    assert not (await bank.get_customer("cust-deaf")).verified
    with pytest.raises(NotVerified):
        await bank.credit_limit("cust-deaf")


async def test_record_verification_audits_method_who_and_when(bank: StubBankBackend, clock: FakeClock) -> None:
    checked_at = clock.now() - timedelta(minutes=4)

    until = await bank.record_verification("cust-deaf", "video", "agent-li", "check-1", checked_at)

    (record,) = await bank.debug_verifications("cust-deaf")
    assert (record.method, record.verified_by) == ("video", "agent-li")
    assert (record.checked_at, record.recorded_at, record.verified_until) == (checked_at, clock.now(), until)
    assert await bank.debug_verifications("cust-good") == []


async def test_record_verification_counts_from_when_the_check_was_done(bank: StubBankBackend, clock: FakeClock) -> None:
    checked_at = clock.now() - timedelta(minutes=20)

    until = await bank.record_verification("cust-deaf", "video", None, "check-1", checked_at)

    assert until == checked_at + product.VERIFICATION_TTL
    clock.advance(timedelta(minutes=10))
    assert not (await bank.get_customer("cust-deaf")).verified


async def test_record_verification_of_a_check_older_than_30_minutes_records_nothing(
    bank: StubBankBackend, clock: FakeClock
) -> None:
    with pytest.raises(NotVerified):
        await bank.record_verification("cust-deaf", "video", None, "check-1", clock.now() - product.VERIFICATION_TTL)

    assert not (await bank.get_customer("cust-deaf")).verified
    assert await bank.debug_verifications("cust-deaf") == []


async def test_record_verification_check_ahead_of_the_bank_clock_counts_from_now(
    bank: StubBankBackend, clock: FakeClock
) -> None:
    until = await bank.record_verification("cust-deaf", "video", None, "check-1", clock.now() + timedelta(hours=2))

    assert until == clock.now() + product.VERIFICATION_TTL
    assert (await bank.debug_verifications("cust-deaf"))[0].checked_at == clock.now()


async def test_record_verification_retried_with_same_key_records_once_and_never_extends(
    bank: StubBankBackend, clock: FakeClock
) -> None:
    first = await bank.record_verification("cust-deaf", "video", "agent-li", "check-1")
    clock.advance(timedelta(minutes=10))
    assert await bank.record_verification("cust-deaf", "video", "agent-li", "check-1") == first
    clock.advance(timedelta(minutes=25))

    assert await bank.record_verification("cust-deaf", "video", "agent-li", "check-1") == first

    assert not (await bank.get_customer("cust-deaf")).verified
    assert len(await bank.debug_verifications("cust-deaf")) == 1


async def test_record_verification_same_key_other_check_raises_conflict(bank: StubBankBackend) -> None:
    await bank.record_verification("cust-deaf", "video", "agent-li", "check-1")

    with pytest.raises(IdempotencyConflict):
        await bank.record_verification("cust-deaf", "video", "agent-wang", "check-1")
    with pytest.raises(IdempotencyConflict):
        await bank.record_verification("cust-good", "video", "agent-li", "check-1")


async def test_record_verification_keeps_a_longer_sms_verification(bank: StubBankBackend, clock: FakeClock) -> None:
    await bank.debug_mark_verified("cust-deaf")
    sms_until = clock.now() + product.VERIFICATION_TTL
    clock.advance(timedelta(minutes=10))

    until = await bank.record_verification("cust-deaf", "video", None, "check-1", clock.now() - timedelta(minutes=15))

    assert until == sms_until


async def test_record_verification_while_locked_raises_and_records_nothing(bank: StubBankBackend) -> None:
    await _lock(bank)

    with pytest.raises(IdentityLocked):
        await bank.record_verification("cust-deaf", "video", "agent-li", "check-1")

    assert not (await bank.get_customer("cust-deaf")).verified
    assert await bank.debug_verifications("cust-deaf") == []


async def test_record_verification_survives_a_restart(database_url: str, clock: FakeClock) -> None:
    first = StubBankBackend(database_url, clock)
    until = await first.record_verification("cust-deaf", "video", "agent-li", "check-1")
    await first.aclose()

    again = StubBankBackend(database_url, clock)
    try:
        assert (await again.get_customer("cust-deaf")).verified
        assert [record.verified_until for record in await again.debug_verifications("cust-deaf")] == [until]
        assert await again.record_verification("cust-deaf", "video", "agent-li", "check-1") == until
        assert len(await again.debug_verifications("cust-deaf")) == 1
    finally:
        await again.aclose()


@pytest.mark.parametrize(
    ("customer", "method", "verified_by", "checked_at", "error"),
    [
        ("cust-nobody", "video", None, None, UnknownCustomer),
        ("cust-deaf", "phone_call", None, None, ValueError),
        ("cust-deaf", "video", "x" * 65, None, ValueError),
        ("cust-deaf", "video", None, datetime(2025, 3, 15, 10, 0), ValueError),  # naive
    ],
)
async def test_record_verification_bad_input_raises_and_records_nothing(
    bank: StubBankBackend, customer: str, method: str, verified_by: str | None, checked_at: datetime | None, error: type
) -> None:
    with pytest.raises(error):
        await bank.record_verification(customer, method, verified_by, "check-1", checked_at)  # type: ignore[arg-type]

    assert not (await bank.get_customer("cust-deaf")).verified
    assert await bank.debug_verifications("cust-deaf") == []
