"""SMS codes, the lock and the face check in the stub, with the injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from actions.backends import product
from actions.backends.base import OtpExpired, OtpLocked, OtpVerified, OtpWrong
from actions.backends.clock import FakeClock
from actions.backends.exceptions import IdentityLocked
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
