"""The error hierarchy (actions/backends/exceptions.py): stable codes and payload round trips."""

from __future__ import annotations

from datetime import datetime

import pytest

from actions.backends import exceptions
from actions.backends.clock import BANK_TZ
from actions.backends.exceptions import BankError

EXAMPLES: list[BankError] = [
    exceptions.UnknownCustomer(),
    exceptions.UnknownLoan(),
    exceptions.UnknownCard(),
    exceptions.NotVerified(),
    exceptions.IdentityLocked(datetime(2025, 3, 15, 10, 30, tzinfo=BANK_TZ)),
    exceptions.FaceCheckRequired(),
    exceptions.AccountFrozen(),
    exceptions.CustomerOverdue(),
    exceptions.CreditNotAssessed(),
    exceptions.InvalidTerm((5, 10, 20)),
    exceptions.InvalidPurpose(),
    exceptions.AmountBelowMinimum(50_000),
    exceptions.AmountNotInSteps(10_000),
    exceptions.AmountAboveLoanMaximum(4_000_000),
    exceptions.AmountAboveAvailable(123_400),
    exceptions.NothingToRepay(),
    exceptions.AmountBelowDue(101_155),
    exceptions.AmountAboveOwed(903_240),
    exceptions.InsufficientBalance(30_000),
    exceptions.InvalidDate(),
    exceptions.InvalidCard("credit_card"),
    exceptions.CardAlreadyBound(),
    exceptions.CardLimitReached(5),
    exceptions.CardRequired(),
    exceptions.NoCardBound(),
    exceptions.IdempotencyConflict(),
    exceptions.BackendUnavailable("timeout"),
]


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: error.code)
def test_error_payload_round_trip_keeps_class_and_details(error: BankError) -> None:
    rebuilt = exceptions.from_payload(exceptions.to_payload(error))
    assert type(rebuilt) is type(error)
    assert rebuilt is not None and rebuilt.details() == error.details()


def test_error_codes_are_unique_and_every_concrete_error_is_covered() -> None:
    concrete = {code for code, cls in exceptions.ERRORS_BY_CODE.items() if cls.meaning != BankError.meaning}
    assert concrete == {error.code for error in EXAMPLES}


def test_error_status_is_http_error_and_meaning_is_set() -> None:
    for error in EXAMPLES:
        assert 400 <= error.status < 600
        assert error.meaning and error.meaning != BankError.meaning


def test_from_payload_unknown_code_or_shape_returns_none() -> None:
    assert exceptions.from_payload({"error": {"code": "teapot"}}) is None
    assert exceptions.from_payload({"detail": "x"}) is None
    assert exceptions.from_payload(["not", "an", "object"]) is None
    assert exceptions.from_payload({"error": {"code": "amount_above_available", "details": {}}}) is None
