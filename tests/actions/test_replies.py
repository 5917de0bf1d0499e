"""Backend errors as replies (actions/replies.py): every error the bank can answer has words in the domain."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.backends.clock import BANK_TZ
from actions.backends.exceptions import (
    ERRORS_BY_CODE,
    AmountAboveAvailable,
    BackendUnavailable,
    BankError,
    IdentityLocked,
    InvalidCard,
    NotVerified,
    UnknownLoan,
)
from actions.replies import BACKEND_UNAVAILABLE_RESPONSE, ERROR_RESPONSES, error_reply, tell_error
from tests.actions.conftest import DOMAIN, PROJECT_ROOT, placeholders

MY_MODULES = ("account", "cards", "common", "identity", "loan", "repayment", "replies")
_RESPONSE_NAME = re.compile(r"\"(utter_[a-z0-9_]+)\"")


def _leaf_errors() -> list[type[BankError]]:
    return [cls for cls in ERRORS_BY_CODE.values() if not cls.__subclasses__() and cls is not BankError]


@pytest.mark.parametrize("error_class", _leaf_errors(), ids=lambda cls: cls.code)
def test_every_bank_error_has_a_domain_response(error_class: type[BankError]) -> None:
    if error_class is BackendUnavailable:
        assert error_class.code not in ERROR_RESPONSES
        return
    response = ERROR_RESPONSES[error_class.code]
    if error_class is InvalidCard:
        for reason in InvalidCard.REASONS:
            assert f"{response}_{reason}" in DOMAIN["responses"]
    else:
        assert response in DOMAIN["responses"]


def test_every_response_an_action_names_is_in_the_domain() -> None:
    for module in MY_MODULES:
        source = Path(PROJECT_ROOT / "actions" / f"{module}.py").read_text(encoding="utf-8")
        for name in set(_RESPONSE_NAME.findall(source)) - {ERROR_RESPONSES["invalid_card"]}:  # + "_<reason>"
            assert name in DOMAIN["responses"], f"actions/{module}.py names {name}"


def test_error_reply_amounts_are_shown_in_yuan() -> None:
    assert error_reply(AmountAboveAvailable(4_100_000)) == (
        "utter_error_amount_above_available",
        {"available": "41,000.00"},
    )


def test_error_reply_variables_cover_the_response() -> None:
    for error in (AmountAboveAvailable(100), IdentityLocked(datetime(2025, 3, 15, 10, 30, tzinfo=BANK_TZ))):
        response, variables = error_reply(error)
        assert placeholders(response) <= set(variables)


def test_error_reply_invalid_card_has_one_response_per_reason() -> None:
    assert error_reply(InvalidCard("credit_card")) == ("utter_error_invalid_card_credit_card", {})


@pytest.mark.parametrize("error", [BackendUnavailable("503"), RuntimeError("x"), BankError()])
def test_error_reply_unknown_failures_get_the_apology(error: BaseException) -> None:
    assert error_reply(error) == (BACKEND_UNAVAILABLE_RESPONSE, {})


def test_tell_error_expired_verification_resets_verified_and_offers_retry() -> None:
    dispatcher = CollectingDispatcher()

    events = tell_error(dispatcher, NotVerified(), action="test", retry_intent="check_balance")

    assert events == [{"event": "slot", "timestamp": None, "name": "verified", "value": None}]
    assert dispatcher.messages[0]["response"] == "utter_error_not_verified"
    assert dispatcher.messages[0]["retry_intent"] == "check_balance"


def test_tell_error_lock_sets_handoff_reason() -> None:
    dispatcher = CollectingDispatcher()

    events = tell_error(
        dispatcher, IdentityLocked(datetime(2025, 3, 15, 10, 30, tzinfo=BANK_TZ)), action="t", retry_intent="x"
    )

    assert {event["name"]: event["value"] for event in events} == {
        "verified": False,
        "handoff_reason": "identity_locked",
    }
    assert dispatcher.messages[0]["until"] == "2025-03-15 10:30"


def test_tell_error_logs_unexpected_errors_with_traceback(caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = CollectingDispatcher()

    tell_error(dispatcher, ZeroDivisionError("internal"), action="action_x", retry_intent="x")

    record = next(record for record in caplog.records if "action_x" in record.getMessage())
    assert record.exc_info is not None
    assert "internal" not in repr(dispatcher.messages)


def test_tell_error_known_refusal_is_not_an_error_log(caplog: pytest.LogCaptureFixture) -> None:
    tell_error(CollectingDispatcher(), UnknownLoan(), action="action_x", retry_intent="x")

    assert all(record.levelname == "INFO" for record in caplog.records if "action_x" in record.getMessage())
